from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

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
        bar = tqdm(unit="result", disable=opts["no_progress"], file=self.stderr._out)

        def progress(done: int, total: int | None, message: str) -> None:
            if total is not None:
                bar.total = total
            bar.n = done
            bar.set_description(message)
            bar.refresh()

        s = clean_results(chunk=opts["chunk"], progress=progress)
        bar.close()
        self.stdout.write(f"removed {s.results_deleted} result(s) of {s.runs_removed} run(s)")
