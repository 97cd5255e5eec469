"""schemathesis hooks for the API's fuzz test (tests/config/test_urls.py), loaded by its CLI
through SCHEMATHESIS_HOOKS."""

import schemathesis

# A well-formed request may name a thing that does not exist (an engine, a gated project, an
# expected-test class), break a rule between fields no schema states (a run compared with
# itself, a differential run without a reference, two time budgets, a known group without a
# link, a merge of one group, a build that ends before it starts, a triage naming both a test
# and a cluster or neither), or hold a language of its own (a URL, a datagen spec, a query
# profile, a result file, a calendar date): the API refuses it with a 400 and one of these
# codes. Every other 400 to a schema-valid request is a bug.
REFUSALS_OF_WELL_FORMED_REQUESTS = {
    "engine_not_found",
    "unknown_project",
    "unknown_run_class",
    "same_run",
    "reference_required",
    "budget_twice",
    "link_required",
    "merge_needs_two",
    "bad_target",
    "bad_link",
    "bad_spec",
    "bad_profile",
    "bad_file",
    "bad_build_url",
    "bad_time",
}


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure but "valid request rejected" for one of those refusals."""
    if failure.code != "ST202" or response.status_code != 400:
        return True
    try:
        return response.json().get("error") not in REFUSALS_OF_WELL_FORMED_REQUESTS
    except ValueError:
        return True
