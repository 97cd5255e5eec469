"""A check's summary in Markdown, for a CI to post as a review comment: the outcome, its
findings, and per dataset the slowest migrations with their locks, rewrites and WAL.

Pure: it reads plain dicts (a check's ``datasets`` as the service stores them, see
``dataset_record``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from migrations_gate.runner.outcome import Finding
from migrations_gate.runner.steps import DriverRun

__all__ = ["dataset_record", "markdown"]

SLOWEST = 5


def dataset_record(
    name: str, outcome: str, run: DriverRun | None, findings: Sequence[Finding], error: str = ""
) -> dict[str, Any]:
    """What a check keeps of one dataset: JSON-ready."""
    steps = []
    for step in run.steps if run is not None else ():
        m = step.measures
        steps.append({
            "migration": step.migration,
            "status": step.status,
            "seconds": round(step.seconds, 6),
            "wal_bytes": m.wal_bytes if m else None,
            "size_change_bytes": m.size_change_bytes if m else None,
            "rewritten": m.rewritten if m else None,
            "locks": [
                {"relation": h.relation, "mode": h.mode, "seconds": round(h.seconds, 3),
                 "waited": h.waited}
                for h in m.locks
            ] if m else None,
        })  # fmt: skip
    return {
        "dataset": name,
        "outcome": outcome,
        "error": error,
        "findings": [
            {"outcome": f.outcome, "code": f.code, "migration": f.migration, "message": f.message}
            for f in findings
        ],
        "steps": steps,
        "left": run.left if run is not None else None,
    }


def markdown(
    project: str, ref: str, commit: str, outcome: str, datasets: Sequence[Mapping[str, Any]],
    log_url: str = "",
) -> str:  # fmt: skip
    lines = [f"**Migrations gate: {outcome}** for {project} at `{ref}` ({commit[:12]})", ""]
    for record in datasets:
        name, findings = record["dataset"], record["findings"]
        lines.append(f"### {name}: {record['outcome']}")
        if record.get("error"):
            lines.append(f"- {record['outcome']}: {_md(record['error'])}")
        lines += [f"- {f['outcome']}: {_md(f['message'])}" for f in findings]
        steps = sorted(record["steps"], key=lambda s: -s["seconds"])[:SLOWEST]
        if steps:
            lines += ["", "| migration | time | ACCESS EXCLUSIVE | rewrites | WAL |",
                      "| --- | ---: | --- | --- | ---: |"]  # fmt: skip
            for s in steps:
                exclusive = ", ".join(
                    f"{lock['relation']} {lock['seconds']:.2f}s"
                    for lock in s["locks"] or ()
                    if lock["mode"] == "AccessExclusiveLock"
                )
                rewrites = ", ".join(s["rewritten"] or ()) if s["rewritten"] is not None else "n/a"
                wal = _bytes(s["wal_bytes"]) if s["wal_bytes"] is not None else "n/a"
                status = "" if s["status"] == "ok" else f" ({s['status']})"
                lines.append(
                    f"| `{_md(s['migration'])}`{status} | {s['seconds']:.2f}s | "
                    f"{_md(exclusive) or '-'} | {_md(rewrites) or '-'} | {wal} |"
                )
        lines.append("")
    if log_url:
        lines.append(f"Logs: {log_url}")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    """Plain text in a Markdown table or list: no table breaks, no markup injected."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
