from django.core.management.base import BaseCommand

from results.management.commands._common import one_line_errors
from results.services.purge import delete_runs_by_pattern


class Command(BaseCommand):
    help = (
        "Delete test runs by name (aliases ok) or, with --wild, by a * ? pattern. Runs marked "
        "valuable are kept. Their results are removed by `clean_results` afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("pattern", metavar="PATTERN")
        parser.add_argument("--wild", action="store_true", help="PATTERN has wildcards")
        parser.add_argument("--count", action="store_true", help="Dry run: count only")

    def handle(self, *args, **opts):
        with one_line_errors():
            s = delete_runs_by_pattern(opts["pattern"], wild=opts["wild"], dry_run=opts["count"])
        verb = "would delete" if opts["count"] else "deleted"
        if opts["verbosity"] > 1:
            for name in s.deleted:
                self.stdout.write(f"  {name}")
        for name in s.refused_valuable:
            self.stdout.write(f"kept {name}: marked valuable")
        self.stdout.write(f"{verb} {len(s.deleted)} run(s) holding {s.results} result(s)")
        if s.deleted and not opts["count"]:
            self.stdout.write("run `manage.py clean_results` to remove their results")
