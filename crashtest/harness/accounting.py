"""Jepsen's total-queue accounting, for every workload: what was attempted, what the system
acknowledged, and what is there at the end (each id with how many times its effect is found).

- ok: acknowledged and there exactly once
- lost: acknowledged and not there (a failure)
- duplicated effects: there more than once (a failure)
- unexpected: there and never attempted (a failure)
- recovered: attempted, not acknowledged (a timeout, a killed server), and there all the same
- refused left a row: refused (a 4xx, a request cut off halfway) and there (a failure)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass
class Check:
    """One row of the checks table. `ok` false fails the run only when `fails_run`:
    informational rows (attempted, duplicated executions) never fail it."""

    workload: str
    name: str
    value: int | float | str
    ok: bool = True
    fails_run: bool = True
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _some(ids: Iterable, limit: int = 10) -> str:
    shown = sorted(ids, key=str)
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(str(i) for i in shown[:limit]) + more


def total_queue(
    workload: str,
    attempted: Iterable,
    acknowledged: Iterable,
    observed: Iterable,
    *,
    refused: Iterable = (),
) -> list[Check]:
    """The rows of Jepsen's total-queue checker for one workload. `observed` holds an id once
    per effect found (an import's run found twice is there twice)."""
    attempted, acknowledged, refused = set(attempted), set(acknowledged), set(refused)
    seen = Counter(observed)
    lost = acknowledged - set(seen)
    duplicated = {i for i, n in seen.items() if n > 1}
    unexpected = set(seen) - attempted
    recovered = (attempted - acknowledged - refused) & set(seen)
    refused_there = refused & set(seen)
    ok = {i for i in acknowledged if seen.get(i) == 1}
    rows = [
        Check(workload, "attempted", len(attempted), fails_run=False),
        Check(workload, "acknowledged", len(acknowledged), fails_run=False),
        Check(workload, "ok", len(ok), fails_run=False),
        Check(workload, "lost", len(lost), not lost, detail=_some(lost)),
        Check(
            workload,
            "duplicated effects",
            len(duplicated),
            not duplicated,
            detail=_some(f"{i} x{seen[i]}" for i in duplicated),
        ),  # fmt: skip
        Check(workload, "unexpected", len(unexpected), not unexpected, detail=_some(unexpected)),
        Check(workload, "recovered", len(recovered), fails_run=False, detail=_some(recovered)),
    ]
    if refused:
        rows.append(
            Check(
                workload,
                "refused left a row",
                len(refused_there),
                not refused_there,
                detail=_some(refused_there),
            )  # fmt: skip
        )
    return rows


def failed(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if c.fails_run and not c.ok]
