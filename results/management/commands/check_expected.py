from django.core.management.base import BaseCommand

from results.management.commands._common import one_line_errors
from results.services import check_expected


class Command(BaseCommand):
    help = (
        "Enter a missing (M) record in RUN for every expected test of CLASS it lacks. "
        "Idempotent; a real result imported later replaces the M record."
    )

    def add_arguments(self, parser):
        parser.add_argument("run_class", metavar="CLASS")
        parser.add_argument("run", metavar="RUN", help="Run name; aliases like daily_latest ok")

    def handle(self, *args, **opts):
        with one_line_errors():
            s = check_expected(opts["run_class"], opts["run"])
        self.stdout.write(
            f"{s.run.name}: {s.added} missing test(s) entered; "
            f"{s.total_expected} expected in class {s.run_class}"
        )
