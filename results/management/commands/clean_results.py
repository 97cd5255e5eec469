from django.core.management.base import BaseCommand, CommandError

from results.management.commands._common import ProgressBar
from results.services import clean_results


class Command(BaseCommand):
    help = (
        "Remove what deleted runs left behind, in chunks of --chunk rows per short "
        "transaction. Safe to interrupt and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=None, help="Rows per transaction")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        if opts["chunk"] is not None and opts["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        bar = ProgressBar(self, "result", disable=opts["no_progress"])
        s = clean_results(chunk=opts["chunk"], progress=bar)
        bar.close()
        self.stdout.write(f"removed {s.results_deleted} result(s) of {s.runs_removed} run(s)")
