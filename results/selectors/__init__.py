"""Read paths shared by the web UI and the API, one module per subject."""

from results.selectors.history import flaky_tests, result_history
from results.selectors.runs import (
    RunFilter,
    expected_tests,
    filter_runs,
    imports_of,
    live_runs,
    parse_attribute_filters,
    run_imports,
    run_results,
)

__all__ = [
    "RunFilter",
    "expected_tests",
    "filter_runs",
    "flaky_tests",
    "imports_of",
    "live_runs",
    "parse_attribute_filters",
    "result_history",
    "run_imports",
    "run_results",
]
