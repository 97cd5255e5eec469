"""The results app's jobs and schedules (core.registry), and its django-q entry points: thin,
they call a service. Job rows run through core.tasks.run_job (a row first, docs/architecture.md)."""

from core import registry
from core.db import busy_retried
from results.models import CleanJob, FlakinessJob, SearchIndexJob

FLAKY_SCHEDULE_NAME = "assay.refresh_flaky_all"
SEARCH_SCHEDULE_NAME = "assay.index_tests"

# By dotted path: the services load when a worker first runs one (core.registry.Lazy).
registry.register_job(CleanJob, execute="results.services.purge.run_clean_job")
registry.register_job(FlakinessJob, execute="results.services.flaky.run_flakiness_job")
registry.register_job(SearchIndexJob, execute="results.services.search.run_search_index_job")
# Imports queue their own SearchIndexJob; this catches one whose delivery was lost.
registry.register_schedule(SEARCH_SCHEDULE_NAME, "results.tasks.index_tests", every_minutes=10)
# Imports queue their own refresh; nightly catches what queues none (deleted runs, a changed
# ASSAY_HISTORY_RUNS or ASSAY_FLAKY_FLIPS).
registry.register_schedule(FLAKY_SCHEDULE_NAME, "results.tasks.refresh_flaky_all", daily=True)


@busy_retried  # a busy database delays the tick, never loses it
def refresh_flaky_all() -> int:
    """Queue a FlakinessJob per series."""
    from results.services.flaky import queue_flaky_refresh_all

    return queue_flaky_refresh_all()


@busy_retried
def index_tests() -> int:
    """Queue a SearchIndexJob when runs wait for one."""
    from results.services.search import index_pending_now

    return index_pending_now()
