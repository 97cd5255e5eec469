import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from results.management.commands._common import one_line_errors
from results.models import Contact
from results.services.contacts import import_contacts


class Command(BaseCommand):
    help = (
        "Import Pandokia's contact file (project,prefix,email lines; - reads standard input). "
        "Replaces the contacts of the projects the file names, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="Contact file, or - for standard input")
        parser.add_argument(
            "--format",
            choices=Contact.Format.values,
            default=Contact.Format.SUMMARY,
            help="Format of contacts whose line does not give one (default: summary)",
        )
        parser.add_argument(
            "--line-limit",
            type=int,
            default=100,
            help="Line limit of contacts whose line does not give one (default: 100)",
        )

    def handle(self, *args, **opts):
        name = opts["file"]
        if name == "-":
            source = "<stdin>"
            stream = sys.stdin
            data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        else:
            source = name
            try:
                data = Path(name).read_bytes()
            except OSError as exc:
                raise CommandError(f"{name}: {exc.strerror or exc}") from None
        with one_line_errors():
            s = import_contacts(
                data,
                source=source,
                default_format=opts["format"],
                default_line_limit=opts["line_limit"],
            )
        for project, count in s.contacts.items():
            self.stdout.write(f"{project}: {count} contact(s), replacing {s.replaced[project]}")
        for project in s.new_projects:
            self.stderr.write(
                f"new project {project!r}: it has no results yet (check the spelling)"
            )
        self.stdout.write(f"{source}: {s.total} contact(s) in {len(s.contacts)} project(s)")
