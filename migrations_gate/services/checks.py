"""Checks: a change's migrations run on every dataset of its project (a job), judged, reported
and recorded in results.

Nothing from the change runs in the web process: submit_check only saves and queues a row; a
worker checks the ref out, prepares the project's environment and runs its migration driver
against a clone of each dataset, in a process group of its own, with an environment that holds
none of Assay's secrets.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import jobs
from core.exceptions import AssayError, NotFound
from core.secrets import known_secrets, scrub
from migrations_gate.models import Check, Dataset, DatasetKind, MigrationKind, MigrationTiming
from migrations_gate.models import Outcome as O
from migrations_gate.runner import checkout, environments
from migrations_gate.runner import datasets as store
from migrations_gate.runner.outcome import INTERNAL_ERROR, Finding, Thresholds, judge, overall
from migrations_gate.runner.report import dataset_record, markdown
from migrations_gate.runner.steps import DriverRun, libpq_env, run_driver
from migrations_gate.services.projects import get_project
from results.services import ParsedResult, delete_runs, find_runs, record_run

__all__ = ["execute_check", "get_check", "recheck", "submit_check"]

DRIVERS = Path(__file__).resolve().parents[1] / "runner" / "drivers"
HISTORY_RUNS = 50  # earlier timings a migration's limit is learned from
HEARTBEAT_SECONDS = 10.0
# What a project's own code sees of this process's environment: no secrets, no settings.
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PIP_FIND_LINKS",
               "PIP_INDEX_URL", "PIP_CERT", "SSL_CERT_FILE")  # fmt: skip


class _SetupFailed(Exception):
    """The gate could not set a check up: never the change's fault. ``final``: another
    attempt would fail the same (a ref that does not exist)."""

    def __init__(self, message: str, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def submit_check(
    project: str, ref: str, *, refspec: str = "", recheck_of: Check | None = None
) -> Check:
    """Queue a check of ``ref``; ``refspec`` is fetched from the origin first (a change the
    origin does not advertise by name)."""
    p = get_project(project)
    ref, refspec = (ref or "").strip(), (refspec or "").strip()
    if not ref or len(ref) > 300:
        raise AssayError(
            "a check needs a ref (a branch, tag, commit or change ref)", code="bad_ref"
        )
    if len(refspec) > 600:
        raise AssayError("the refspec is over 600 characters", code="bad_ref")
    try:
        checkout.check_ref(ref)
        if refspec:
            checkout.check_refspec(refspec)
    except checkout.CheckoutError as exc:
        raise AssayError(str(exc), code="bad_ref") from None
    if not p.datasets.exists():
        raise AssayError(f"project {p.name} has no dataset to check on", code="no_datasets")
    # One automatic retry: an internal error (a server, the network) gets a second attempt.
    return jobs.submit(
        Check(project=p, ref=ref, refspec=refspec, recheck_of=recheck_of, max_attempts=2)
    )


def get_check(pk: int) -> Check:
    try:
        return Check.objects.select_related("project").get(pk=pk)
    except Check.DoesNotExist:
        raise NotFound(f"no check {pk}") from None


def recheck(pk: int) -> Check:
    """turbo-hipster's "recheck migrations": the same project and ref, checked again."""
    old = get_check(pk)
    return submit_check(old.project.name, old.ref, refspec=old.refspec, recheck_of=old)


# --- the job ----------------------------------------------------------------------------------


def execute_check(check: Check) -> dict[str, Any]:
    project = check.project
    datasets = list(project.datasets.order_by("name"))
    gate_dir = Path(settings.ASSAY_GATE_DIR)
    worktree = gate_dir / "worktrees" / f"check-{check.pk}"
    check.log(f"check {check.pk}: {project.name} at {check.ref}, on {len(datasets)} datasets")
    beat = _Beat(check, len(datasets))
    beat("checking out", force=True)
    records: list[dict[str, Any]] = []
    commit = ""
    try:
        try:
            checkout.remove(worktree)  # an earlier attempt's
            mirror = checkout.mirror(project.repository, gate_dir / "mirrors")
            commit = checkout.checkout(mirror, check.ref, worktree, check.refspec or None)
        except checkout.CheckoutError as exc:
            text = str(exc)
            raise _SetupFailed(text, final=text.startswith(("no such ref", "refused"))) from None
        check.log(f"checked out {commit}")
        beat("preparing the environment", force=True)
        root = worktree / project.directory
        try:
            python = environments.environment(
                [root / r for r in project.requirements] or None,
                gate_dir / "environments",
                progress=lambda line: (check.log(line), beat("installing")),
            )
        except environments.EnvironmentFailed as exc:
            raise _SetupFailed(f"cannot install the project: {exc}") from None
        argv, extra_env = _driver(project.kind, project.target, python, root)
        for n, dataset in enumerate(datasets):
            beat(f"dataset {dataset.name}", done=n, force=True)
            records.append(_check_dataset(check, dataset, argv, extra_env, root, beat))
    except _SetupFailed as exc:
        if not exc.final and check.attempts < check.max_attempts:
            raise AssayError(f"internal error, tried again: {exc}", code="internal") from None
        check.log(f"INTERNAL ERROR: {exc}")
        records = [dataset_record(d.name, INTERNAL_ERROR, None, [], str(exc)) for d in datasets]
    finally:
        checkout.remove(worktree)
    findings_outcomes = [r["outcome"] for r in records]
    outcome = overall(Finding(o, "", "", "", "") for o in findings_outcomes)
    check.commit, check.outcome, check.datasets = commit, outcome, records
    check.summary = markdown(project.name, check.ref, commit, outcome, records,
                             settings.ASSAY_BASE_URL + check.log_url)  # fmt: skip
    check.results_run = _record(check)
    check.log(f"outcome: {outcome}")
    return {"commit": commit, "outcome": outcome, "datasets": records,
            "summary": check.summary, "results_run": check.results_run}  # fmt: skip


class _Beat:
    """Progress and the lease, at most every HEARTBEAT_SECONDS unless forced."""

    def __init__(self, check: Check, total: int) -> None:
        self.check, self.total, self.last, self.done, self.message = check, total, 0.0, 0, ""

    def __call__(self, message: str | None = None, *, done: int | None = None,
                 force: bool = False) -> None:  # fmt: skip
        self.message = message or self.message
        self.done = self.done if done is None else done
        now = time.monotonic()
        if force or now - self.last >= HEARTBEAT_SECONDS:
            self.last = now
            jobs.heartbeat(self.check, self.done, self.total, self.message)


def _driver(kind: str, target: str, python: str, root: Path) -> tuple[list[str], dict[str, str]]:
    if kind == MigrationKind.DJANGO:
        return [python, str(DRIVERS / "django_driver.py"), "--settings", target], {}
    if kind == MigrationKind.ALEMBIC:
        return [python, str(DRIVERS / "alembic_driver.py"), "--config", target], {}
    # SQL files: Assay's own driver, run by this interpreter
    argv = [sys.executable, "-m", "migrations_gate.runner.sqlfiles", str(root / target)]
    return argv, {"PYTHONPATH": str(settings.BASE_DIR)}


def _check_dataset(
    check: Check, dataset: Dataset, argv: list[str], extra_env: dict[str, str], root: Path,
    beat: _Beat,
) -> dict[str, Any]:  # fmt: skip
    project = check.project
    log_path = check.log_dir / f"{dataset.name}.log"
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ} | extra_env
    clone_name = f"assay_gate_c{check.pk}_{dataset.pk}"
    # What the change's output must not publish: the server's secrets (its password among
    # them) and, once made, the clone's role's password.
    hidden = known_secrets()

    def hide(line: str) -> str:
        return scrub(line, hidden)

    conninfo = admin = None
    clone_path = None
    with log_path.open("a", encoding="utf-8") as fh:

        def log(line: str) -> None:
            fh.write(f"{timezone.now().isoformat(timespec='seconds')} {hide(line)}\n")
            fh.flush()

        try:
            log(f"dataset {dataset.name}: cloning")
            try:
                if dataset.kind == DatasetKind.POSTGRESQL:
                    admin = dataset.server.conninfo()
                    store.drop(admin, clone_name)  # an earlier attempt's
                    conninfo = store.clone(admin, dataset.template, clone_name)
                    # The change's code connects as a role owning this clone alone
                    env |= libpq_env(store.hand_over(admin, clone_name, clone_name))
                    hidden.add(env.get("PGPASSWORD", ""))
                else:
                    clone_path = Path(settings.ASSAY_GATE_DIR) / "clones" / f"{clone_name}.sqlite"
                    clone_path.parent.mkdir(parents=True, exist_ok=True)
                    clone_path.unlink(missing_ok=True)
                    store.clone_sqlite(dataset.path, clone_path)
                    env["ASSAY_GATE_SQLITE"] = str(clone_path)
            except (store.DatasetError, OSError) as exc:
                raise _SetupFailed(f"could not set up dataset {dataset.name}: {exc}") from None
            run = run_driver(
                argv, env=env, cwd=root,
                deadline=time.monotonic() + project.time_limit_seconds,
                conninfo=conninfo, log=log, tick=beat,
            )  # fmt: skip
            # The change's output is published (logs, findings): never the server's password.
            for lines in (run.tail, *(step.tail for step in run.steps)):
                lines[:] = [hide(line) for line in lines]
        finally:
            if admin is not None:
                store.drop(admin, clone_name)
                store.drop_role(admin, clone_name)
            if clone_path is not None:
                clone_path.unlink(missing_ok=True)
        findings = judge(dataset.name, run, history=_history(check, dataset, run),
                         thresholds=_thresholds(project))  # fmt: skip
        for finding in findings:
            log(f"{finding.outcome}: {finding.message}")
        outcome = overall(findings)
        log(f"dataset {dataset.name}: {outcome}")
    check.log(f"{dataset.name}: {outcome}" + "".join(f"\n  {f.message}" for f in findings))
    _keep_timings(check, dataset, run)
    return dataset_record(dataset.name, outcome, run, findings)


def _thresholds(project: Any) -> Thresholds:
    return Thresholds(
        default_seconds=project.default_migration_seconds,
        min_history=project.min_history,
        too_long_fails=project.too_long_fails,
        lock_budget_seconds=project.lock_budget_seconds,
        large_table_bytes=project.large_table_bytes,
    )


def _history(check: Check, dataset: Dataset, run: DriverRun) -> dict[str, list[float]]:
    names = [s.migration for s in run.steps]
    rows = (
        MigrationTiming.objects.filter(
            project=check.project, dataset=dataset, migration__in=names, ok=True
        )
        .exclude(check_run=check)
        .order_by("-created_at")
        .values_list("migration", "seconds")
    )
    history: dict[str, list[float]] = {}
    for migration, seconds in rows:
        kept = history.setdefault(migration, [])
        if len(kept) < HISTORY_RUNS:
            kept.append(seconds)
    return history


def _keep_timings(check: Check, dataset: Dataset, run: DriverRun) -> None:
    with transaction.atomic():
        MigrationTiming.objects.filter(check_run=check, dataset=dataset).delete()  # a retry's
        MigrationTiming.objects.bulk_create(
            MigrationTiming(project=check.project, dataset=dataset, migration=s.migration,
                            check_run=check, seconds=s.seconds, ok=s.status == "ok")
            for s in run.steps
        )  # fmt: skip


# --- results ----------------------------------------------------------------------------------

_LETTER = {O.SUCCESS: "P", O.WARNING: "P", O.FAILURE: "F", O.INTERNAL_ERROR: "E"}


def results_run_name(check: Check) -> str:
    return f"gate-{check.project.name}_{check.pk}"


def _record(check: Check) -> str:
    """One test per (dataset, migration) with its duration, and one per dataset with its
    outcome, as results run gate-<project>_<check id> (recorded afresh on a retry)."""
    name = results_run_name(check)
    base = f"gate.{check.project.name}"
    common = {"test_run": name, "project": "migrations_gate", "context": check.ref[:200]}
    out: list[ParsedResult] = []
    for record in check.datasets:
        ds = record["dataset"]
        messages = "\n".join(f["message"] for f in record["findings"]) or record.get("error", "")
        out.append(ParsedResult(
            test_name=f"{base}.{ds}", status=_LETTER[record["outcome"]], log=messages,
            tra={"outcome": record["outcome"], "commit": check.commit}, **common,
        ))  # fmt: skip
        by_migration = {f["migration"]: f for f in record["findings"] if f["migration"]}
        for step in record["steps"]:
            finding = by_migration.get(step["migration"])
            status = "P" if step["status"] == "ok" else "F"
            out.append(ParsedResult(
                test_name=f"{base}.{ds}.{step['migration'].replace('.', '_')}",
                status=status, duration=step["seconds"],
                log=finding["message"] if finding else "",
                tra={"outcome": finding["outcome"] if finding else O.SUCCESS,
                     "wal_bytes": str(step["wal_bytes"]),
                     "rewritten": ", ".join(step["rewritten"] or ())},
                **common,
            ))  # fmt: skip
    with transaction.atomic():
        delete_runs(find_runs(name))
        record_run(out)
    return name
