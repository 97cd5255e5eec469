"""HTML pages of the results app, one module per subject."""

from results.views.runs import result_detail, run_detail, run_list

__all__ = ["result_detail", "run_detail", "run_list"]
