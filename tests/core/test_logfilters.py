"""core.logfilters, as settings.LOGGING installs it."""

import logging


def test_django_q_enqueue_lines_are_dropped_and_its_other_lines_kept(caplog):
    logger = logging.getLogger("django-q")
    with caplog.at_level(logging.INFO):
        logger.info("Enqueued [assay] 12")
        logger.info("Q Cluster assay-1 starting.")
        logging.getLogger("results").info("Enqueued [elsewhere] is not django-q's")
    assert [r.getMessage() for r in caplog.records] == [
        "Q Cluster assay-1 starting.",
        "Enqueued [elsewhere] is not django-q's",
    ]
