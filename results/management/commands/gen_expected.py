from django.core.management.base import BaseCommand

from results.management.commands._common import one_line_errors
from results.services import gen_expected


class Command(BaseCommand):
    help = "Add every test of RUN to the expected tests of CLASS (adds only, never removes)."

    def add_arguments(self, parser):
        parser.add_argument("run_class", metavar="CLASS", help="Class of runs, e.g. daily")
        parser.add_argument("run", metavar="RUN", help="Run name; aliases like daily_latest ok")

    def handle(self, *args, **opts):
        with one_line_errors():
            s = gen_expected(opts["run_class"], opts["run"])
        self.stdout.write(
            f"{s.run_class}: {s.added} expected test(s) added from {s.run.name}; "
            f"{s.total_expected} expected in all"
        )
