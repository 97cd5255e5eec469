from django.core.management.base import BaseCommand

from results.management.commands._common import ProgressBar, one_line_errors
from results.services.messages import CHUNK, refresh_messages


class Command(BaseCommand):
    help = (
        "Fill the failure message and fingerprint (the failure clusters) of failing results "
        "imported before Assay kept them: the first line of each one's stored log. In chunks; "
        "safe to interrupt and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", help="Only this run's results (default: every run).")
        parser.add_argument("--chunk", type=int, default=CHUNK, help="Results per transaction.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        bar = ProgressBar(self, "result", disable=opts["no_progress"])
        with one_line_errors():
            summary = refresh_messages(opts["run"], chunk=max(opts["chunk"], 1), progress=bar)
        bar.close()
        self.stdout.write(
            f"{summary.filled} result(s) given a message and fingerprint; "
            f"{summary.without_log} failing result(s) have no log to take one from."
        )
