"""Read paths shared by the web UI and the API, one module per subject."""

from results.selectors.runs import expected_tests, live_runs, run_results

__all__ = ["expected_tests", "live_runs", "run_results"]
