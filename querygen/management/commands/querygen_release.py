"""manage.py querygen_release PACKAGE==VERSION [...]: the interpreter of a virtualenv holding
that release (made once, then cached: querygen/engine/releases.py), to use as a run's
``sut_python``."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from querygen.engine.releases import ReleaseError, default_cache_dir, ensure_release


def parse_requirement(text: str) -> tuple[str, str]:
    """ "duckdb==0.9.2" -> ("duckdb", "0.9.2"); the names themselves are checked by
    ensure_release."""
    package, sep, version = text.strip().partition("==")
    if not sep or not package.strip() or not version.strip():
        raise CommandError(f"{text!r} is not PACKAGE==VERSION (as duckdb==0.9.2).")
    return package.strip(), version.strip()


class Command(BaseCommand):
    help = (
        "Install releases of a package (as duckdb==0.9.2), each in a cached virtualenv of its "
        "own, and print each one's python interpreter, one per line."
    )

    def add_arguments(self, parser):
        parser.add_argument("releases", nargs="+", metavar="PACKAGE==VERSION")
        parser.add_argument(
            "--cache-dir",
            default=None,
            help=f"where the virtualenvs are kept (default: {default_cache_dir()})",
        )

    def handle(self, *args, **options):
        wanted = [parse_requirement(text) for text in options["releases"]]
        for package, version in wanted:
            try:
                python = ensure_release(
                    package,
                    version,
                    cache_dir=Path(options["cache_dir"]) if options["cache_dir"] else None,
                    progress=lambda line: self.stderr.write(line),
                )
            except ValueError as exc:
                raise CommandError(f"{package}=={version}: {exc}") from None
            except ReleaseError as exc:
                first, _, rest = str(exc).partition("\n")
                if rest:
                    self.stderr.write(rest)  # the end of pip's output, above the error line
                raise CommandError(first) from None
            self.stdout.write(str(python))
