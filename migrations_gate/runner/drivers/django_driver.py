"""The gate's driver for a Django project (protocol.py), run by the project's own interpreter
from the project's directory:

    python /path/to/django_driver.py [--settings MODULE]

It applies the pending migrations of the default database in plan order, one ``migrate APP
NAME`` at a time. The project's settings must take the database from the environment the gate
sets (libpq's PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD; or ASSAY_GATE_SQLITE, a SQLite
file's path). Standard library and Django only, Python 3.8 syntax: it runs where the project is
installed, not Assay.
"""

import os
import sys


def main(argv):  # type: ignore[no-untyped-def]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)  # protocol.py, beside this file
    sys.path.insert(0, os.getcwd())  # the project
    import protocol  # noqa: PLC0415 - found only once the path is set

    if len(argv) == 2 and argv[0] == "--settings":
        os.environ["DJANGO_SETTINGS_MODULE"] = argv[1]
    elif argv:
        sys.stderr.write("usage: django_driver.py [--settings MODULE]\n")
        return 2
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        sys.stderr.write("error: no settings module: pass --settings or DJANGO_SETTINGS_MODULE\n")
        return 2
    import django
    from django.core.management import call_command
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    connection = connections[DEFAULT_DB_ALIAS]

    def plan():  # type: ignore[no-untyped-def]
        executor = MigrationExecutor(connection)
        targets = executor.loader.graph.leaf_nodes()
        return [
            f"{m.app_label}.{m.name}"
            for m, backwards in executor.migration_plan(targets)
            if not backwards
        ]

    def run(name):  # type: ignore[no-untyped-def]
        app, migration = name.split(".", 1)
        call_command("migrate", app, migration, verbosity=1, interactive=False)

    return protocol.drive(plan(), run, lambda: len(plan()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
