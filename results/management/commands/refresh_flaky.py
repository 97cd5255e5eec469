from django.core.management.base import BaseCommand

from results.management.commands._common import ProgressBar, one_line_errors
from results.services.flaky import known_series, refresh_flaky


class Command(BaseCommand):
    help = (
        "Recompute the flaky tests of series (all of them unless named) now, without a "
        "worker: status flips (a pass on retry counting as one) over the last "
        "ASSAY_HISTORY_RUNS runs of each, flaky from ASSAY_FLAKY_FLIPS flips."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "series", nargs="*", help="Series, e.g. nightly (a recurring prefix such as daily)"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        for series in opts["series"] or known_series():
            bar = ProgressBar(self, "step", disable=opts["no_progress"])
            with one_line_errors():
                summary = refresh_flaky(series, progress=bar)
            bar.close()
            last = summary.window[-1].name if summary.window else "no runs"
            self.stdout.write(
                f"{series}: {summary.flaky} flaky test(s) in {len(summary.window)} run(s) "
                f"(up to {last})"
            )
