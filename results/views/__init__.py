"""HTML pages of the results app, one module per subject."""

from results.views.clusters import cluster_page
from results.views.compare import compare_runs, unexpect_result
from results.views.dashboard import dashboard
from results.views.history import flaky_list, search, test_page
from results.views.runs import run_detail, run_list
from results.views.trends import series_detail, series_list
from results.views.triage import (
    comment_triage,
    delete_triage,
    set_triage,
    triage_detail,
    triage_list,
)

__all__ = [
    "comment_triage",
    "cluster_page",
    "compare_runs",
    "dashboard",
    "delete_triage",
    "flaky_list",
    "run_detail",
    "run_list",
    "search",
    "set_triage",
    "series_detail",
    "series_list",
    "test_page",
    "triage_detail",
    "triage_list",
    "unexpect_result",
]
