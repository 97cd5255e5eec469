"""Filters of the site's logging (settings.LOGGING)."""

import logging


class NotEnqueued(logging.Filter):
    """django-q logs each task it queues at INFO ("Enqueued [assay] 12"): a line in a CI job's
    output for every import, written through the commands' progress bars. The job rows say
    what was queued; the cluster's own lines (its start, a worker's death) are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Enqueued [")
