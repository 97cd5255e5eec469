"""Write paths of the results app. Other apps record outcomes through record_run()."""

from __future__ import annotations

from typing import TYPE_CHECKING

import lazy_loader

# Each name is loaded from its module on first use (PEP 562, by lazy_loader): a CI job that
# imports one file (import_results, a whole process) needs only the imports module, not the
# e-mails and selectors of notify (through expected) nor the purge.
__getattr__, __dir__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "expected": ["check_expected", "gen_expected"],
        "imports": ["ImportDefaults", "ParsedResult", "RunSummary", "import_files", "record_run"],
        "purge": ["clean_results", "delete_runs", "find_runs"],
        "runs": ["get_run", "resolve_run_name"],
    },
)[:2]

__all__ = [
    "ImportDefaults",
    "ParsedResult",
    "RunSummary",
    "check_expected",
    "clean_results",
    "delete_runs",
    "find_runs",
    "gen_expected",
    "get_run",
    "import_files",
    "record_run",
    "resolve_run_name",
]

if TYPE_CHECKING:
    from results.importers import ParsedResult
    from results.services.expected import check_expected, gen_expected
    from results.services.imports import ImportDefaults, RunSummary, import_files, record_run
    from results.services.purge import clean_results, delete_runs, find_runs
    from results.services.runs import get_run, resolve_run_name
