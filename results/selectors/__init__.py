"""Read paths shared by the web UI and the API, one module per subject."""

from results.selectors.history import flaky_tests, result_history
from results.selectors.runs import expected_tests, live_runs, run_imports, run_results

__all__ = [
    "expected_tests",
    "flaky_tests",
    "live_runs",
    "result_history",
    "run_imports",
    "run_results",
]
