"""The querygen workload: runs of a fixed budget in queries and a fixed seed, submitted over the
API while their workers die. A run resumes from its checkpoint on another worker, so an
interrupted run must check exactly its budget and find exactly what an uninterrupted run of the
same seed finds, each finding once.

Accounting is per finding (`<label>:<query index>`): what each accepted run should hold is the
uninterrupted run's findings (the reference, run in the foreground before the chaos); what it
holds is its findings as the API lists them. Beyond the total-queue rows:

- queries: every finished run checked exactly its budget (none lost, none checked twice);
- group counts: each group counts its findings once;
- runs finished: every accepted run succeeded;
- duplicated executions: attempts beyond the first (a run resumed by another worker).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from crashtest.harness.accounting import Check, total_queue
from crashtest.harness.api import Api
from crashtest.harness.workload import RunsWorkload

QUERIES_A_UNIT = 10  # completions are counted in tens of queries: an hour's report stays small


def run_body(label: str, *, sut: str, reference: str, queries: int, seed: int) -> dict:
    return {
        "sut": sut,
        "reference": reference,
        "budget_queries": queries,
        "seed": seed,
        "timeout": 1.0,
        "max_reductions": 2,
        "label": label,
    }


def findings_of(api: Api, run: int, deadline: float) -> list[int]:
    """The query indexes of a run's findings, once per finding recorded."""
    return [f["index"] for f in api.get_all(f"/api/v1/querygen/findings/?run={run}", deadline)]


class QuerygenWorkload(RunsWorkload):
    name = "querygen"
    path = "/api/v1/querygen/runs/"

    def __init__(
        self,
        api: Api,
        *,
        sut: str,
        reference: str,
        queries: int,
        seed: int,
        expected: list[int],
        in_flight: int = 1,
        on_done: Callable[[str, int], None] | None = None,
    ) -> None:
        """`expected`: the finding indexes of the uninterrupted run of the same budget and
        seed on the same engines."""
        super().__init__(api, seed=seed, in_flight=in_flight, on_done=on_done)
        self.sut, self.reference, self.queries = sut, reference, queries
        self.expected = expected

    def body(self, label: str) -> dict:
        return run_body(
            label, sut=self.sut, reference=self.reference, queries=self.queries, seed=self.seed
        )

    def progress(self, run: dict) -> tuple[int, bool]:
        return run["queries"] // QUERIES_A_UNIT, run["state"] in ("succeeded", "failed")

    def check(self, deadline: float) -> list[Check]:
        runs = self.runs_by_label(deadline)
        observed = [
            f"{label}:{index}"
            for label, run in runs.items()
            for index in findings_of(self.api, run["id"], deadline)
        ]
        rows = total_queue(
            self.name,
            attempted=[f"{label}:{i}" for label in self.attempted for i in self.expected],
            acknowledged=[f"{label}:{i}" for label in self.acknowledged for i in self.expected],
            observed=observed,
            refused=[f"{label}:{i}" for label in self.refused for i in self.expected],
        )
        wrong_budget, unfinished, executions = [], [], 0
        for label, pk in self.acknowledged.items():
            run = self.api.get(f"{self.path}{pk}/", deadline)
            executions += max(0, run["attempts"] - 1)
            if run["state"] != "succeeded":
                unfinished.append(f"{label} ({run['state']}: {run['error'][:100]})")
            elif run["queries"] != self.queries or run["next_index"] != self.queries:
                wrong_budget.append(f"{label}: {run['queries']} checked, next {run['next_index']}")
        rows += [
            Check(self.name, "queries", len(wrong_budget), not wrong_budget,
                  detail="; ".join(wrong_budget[:5])
                  or f"every finished run checked exactly {self.queries}"),
            Check(self.name, "runs finished", len(self.acknowledged) - len(unfinished),
                  not unfinished, detail="; ".join(unfinished[:5])),
            self._group_counts(deadline),
            Check(self.name, "duplicated executions", executions, fails_run=False,
                  detail="attempts beyond the first (a run resumed from its checkpoint)"),
        ]  # fmt: skip
        return rows

    def _group_counts(self, deadline: float) -> Check:
        """Each group's count equals the findings filed under it (none counted twice)."""
        findings = self.api.get_all("/api/v1/querygen/findings/", deadline)
        per_group = Counter(f["group"] for f in findings)
        groups = self.api.get_all("/api/v1/querygen/groups/", deadline)
        wrong = [
            f"group {g['id']}: count {g['count']}, {per_group[g['id']]} findings"
            for g in groups
            if g["count"] != per_group[g["id"]]
        ]
        return Check(self.name, "group counts", len(wrong), not wrong, detail="; ".join(wrong[:5]))
