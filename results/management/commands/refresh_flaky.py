from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from results.management.commands._common import one_line_errors
from results.services.flaky import refresh_flaky


class Command(BaseCommand):
    help = (
        "Recompute the flaky tests of recurring prefixes (all of ASSAY_RECURRING_PREFIXES "
        "unless named) now, without a worker: status flips over the last ASSAY_HISTORY_RUNS "
        "runs, flaky from ASSAY_FLAKY_FLIPS flips."
    )

    def add_arguments(self, parser):
        parser.add_argument("prefix", nargs="*", help="Recurring prefixes, e.g. daily")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        for prefix in opts["prefix"] or settings.ASSAY_RECURRING_PREFIXES:
            bar = tqdm(unit="step", disable=opts["no_progress"], file=self.stderr._out)

            def progress(done: int, total: int | None, message: str, bar=bar) -> None:
                if total is not None:
                    bar.total = total
                bar.n = done
                bar.set_description(message)
                bar.refresh()

            with one_line_errors():
                summary = refresh_flaky(prefix, progress=progress)
            bar.close()
            last = summary.window[-1].name if summary.window else "no runs"
            self.stdout.write(
                f"{prefix}: {summary.flaky} flaky test(s) in {len(summary.window)} run(s) "
                f"(up to {last})"
            )
