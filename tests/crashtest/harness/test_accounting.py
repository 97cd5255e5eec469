"""Jepsen's total-queue rows, on hand-made histories."""

from crashtest.harness.accounting import Check, failed, total_queue


def rows(checks: list[Check]) -> dict[str, tuple]:
    return {c.name: (c.value, c.ok) for c in checks}


def test_a_clean_history_is_all_ok():
    checks = total_queue("w", attempted=[1, 2, 3], acknowledged=[1, 2, 3], observed=[1, 2, 3])
    assert rows(checks) == {
        "attempted": (3, True),
        "acknowledged": (3, True),
        "ok": (3, True),
        "lost": (0, True),
        "duplicated effects": (0, True),
        "unexpected": (0, True),
        "recovered": (0, True),
    }
    assert failed(checks) == []


def test_lost_duplicated_unexpected_and_recovered_are_told_apart():
    checks = total_queue(
        "imports",
        attempted=[1, 2, 3, 4, 5],
        acknowledged=[1, 2, 3],
        observed=[1, 1, 3, 4, 99],  # 2 lost, 1 twice, 4 recovered, 99 never attempted
        refused=[5],
    )
    assert rows(checks) == {
        "attempted": (5, True),
        "acknowledged": (3, True),
        "ok": (1, True),
        "lost": (1, False),
        "duplicated effects": (1, False),
        "unexpected": (1, False),
        "recovered": (1, True),
        "refused left a row": (0, True),
    }
    by_name = {c.name: c for c in checks}
    assert by_name["lost"].detail == "2"
    assert by_name["duplicated effects"].detail == "1 x2"
    assert [c.name for c in failed(checks)] == ["lost", "duplicated effects", "unexpected"]


def test_a_refused_request_that_left_a_row_fails():
    checks = total_queue("imports", [1, 2], acknowledged=[1], observed=[1, 2], refused=[2])
    assert [c.name for c in failed(checks)] == ["refused left a row"]
    assert rows(checks)["recovered"] == (0, True)


def test_details_are_bounded():
    many = range(100)
    lost = next(c for c in total_queue("w", many, many, []) if c.name == "lost")
    assert lost.value == 100 and lost.detail.endswith("and 90 more")
