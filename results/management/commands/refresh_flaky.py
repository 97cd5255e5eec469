from django.core.management.base import BaseCommand
from tqdm import tqdm

from results.management.commands._common import one_line_errors
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
            bar = tqdm(unit="step", disable=opts["no_progress"], file=self.stderr._out)

            def progress(done: int, total: int | None, message: str, bar=bar) -> None:
                if total is not None:
                    bar.total = total
                bar.n = done
                bar.set_description(message)
                bar.refresh()

            with one_line_errors():
                summary = refresh_flaky(series, progress=progress)
            bar.close()
            last = summary.window[-1].name if summary.window else "no runs"
            self.stdout.write(
                f"{series}: {summary.flaky} flaky test(s) in {len(summary.window)} run(s) "
                f"(up to {last})"
            )
