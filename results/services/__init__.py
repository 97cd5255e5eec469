"""Write paths of the results app. Other apps record outcomes through record_run()."""

from results.importers import ParsedResult
from results.services.expected import check_expected, gen_expected
from results.services.imports import ImportDefaults, RunSummary, import_files, record_run
from results.services.purge import clean_results, delete_runs, find_runs
from results.services.runs import get_run, resolve_run_name

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
