"""compare() on outcomes without rows: refusals, crashes, timeouts and the row limit, the more
serious naming the verdict."""

from __future__ import annotations

import pytest

from querygen.engine.compare import Kind, Side, compare
from querygen.engine.model import Outcome, Status
from tests.querygen.engine.compare.helpers import ok


@pytest.mark.parametrize("side", [Side.SUT, Side.REF])
def test_error_on_one_side(side: Side) -> None:
    refused = Outcome(Status.ERROR, error="Binder Error: no such column x\nLINE 1: ...")
    sut, ref = (refused, ok((1,))) if side is Side.SUT else (ok((1,)), refused)
    c = compare(sut, ref)
    assert c.kind is Kind.ERROR and c.side is side and c.finding
    assert (c.sut_error, c.ref_error) == (sut.error, ref.error)
    who = "SUT" if side is Side.SUT else "reference"
    assert c.detail == f"{who} refused: Binder Error: no such column x"


def test_both_refused_is_not_a_finding() -> None:
    c = compare(Outcome(Status.ERROR, error="e1"), Outcome(Status.ERROR, error="e2"))
    assert c.kind is Kind.BOTH_ERROR and c.side is Side.BOTH and not c.finding
    assert (c.sut_error, c.ref_error) == ("e1", "e2")
    assert c.detail == "both refused: e1 | e2"


@pytest.mark.parametrize(
    ("status", "kind", "finding"),
    [
        (Status.CRASH, Kind.CRASH, True),
        (Status.TIMEOUT, Kind.TIMEOUT, False),
        (Status.TOO_BIG, Kind.TOO_BIG, False),
    ],
)
def test_crash_timeout_too_big(status: Status, kind: Kind, finding: bool) -> None:
    bad = Outcome(status, error="boom")
    for sut, ref, side in (
        (bad, ok((1,)), Side.SUT),
        (ok((1,)), bad, Side.REF),
        (bad, bad, Side.BOTH),
    ):
        c = compare(sut, ref)
        assert (c.kind, c.side, c.finding) == (kind, side, finding)
    assert compare(bad, ok()).detail.startswith("SUT ")


def test_the_more_serious_status_names_the_verdict() -> None:
    crash = Outcome(Status.CRASH, error="segfault")
    timeout = Outcome(Status.TIMEOUT)
    error = Outcome(Status.ERROR, error="nope")
    too_big = Outcome(Status.TOO_BIG)
    assert compare(error, crash).kind is Kind.CRASH
    assert compare(crash, error).side is Side.SUT
    assert compare(timeout, error).kind is Kind.TIMEOUT
    assert compare(timeout, crash).kind is Kind.CRASH
    assert compare(too_big, error).kind is Kind.TOO_BIG
