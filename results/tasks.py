"""django-q entry points of the results app: thin, they call a service.

Jobs themselves run through core.tasks.run_job (a row first, DESIGN.md); what is here is for
django-q schedules."""

from results.services.flaky import queue_flaky_refresh_all


def refresh_flaky_all() -> int:
    """Queue a FlakinessJob per recurring prefix. Imports queue their own; a nightly schedule
    of this catches what queues none: deleted runs, a changed ASSAY_HISTORY_RUNS."""
    return queue_flaky_refresh_all()
