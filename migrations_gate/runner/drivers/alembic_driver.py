"""The gate's driver for an Alembic project (protocol.py), run by the project's own interpreter
from the project's directory:

    python /path/to/alembic_driver.py [--config alembic.ini]

It applies the revisions between the database's current one and the heads, one ``upgrade`` at a
time. The database comes from the environment the gate sets (libpq's PGHOST, PGPORT,
PGDATABASE, PGUSER, PGPASSWORD, or ASSAY_GATE_SQLITE, a SQLite file's path): it is set as the
config's ``sqlalchemy.url`` (which Alembic's own env.py templates read) and exported as
ASSAY_GATE_DATABASE_URL for an env.py that reads its own variable. Standard library, Alembic and
SQLAlchemy only, Python 3.8 syntax.
"""

import os
import sys


def database_url():  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import URL

    if os.environ.get("ASSAY_GATE_SQLITE"):
        return URL.create("sqlite", database=os.environ["ASSAY_GATE_SQLITE"])
    port = os.environ.get("PGPORT")
    return URL.create(
        os.environ.get("ASSAY_GATE_SQLALCHEMY_DRIVER", "postgresql+psycopg"),
        username=os.environ.get("PGUSER") or None,
        password=os.environ.get("PGPASSWORD") or None,
        host=os.environ.get("PGHOST") or None,
        port=int(port) if port else None,
        database=os.environ.get("PGDATABASE") or None,
    )


def main(argv):  # type: ignore[no-untyped-def]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # protocol.py
    sys.path.insert(0, os.getcwd())  # the project
    import protocol  # noqa: PLC0415 - found only once the path is set

    ini = "alembic.ini"
    if len(argv) == 2 and argv[0] == "--config":
        ini = argv[1]
    elif argv:
        sys.stderr.write("usage: alembic_driver.py [--config alembic.ini]\n")
        return 2
    if not os.path.exists(ini):
        sys.stderr.write("error: no %s in %s\n" % (ini, os.getcwd()))  # noqa: UP031
        return 2
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    url = database_url()
    rendered = url.render_as_string(hide_password=False)
    os.environ["ASSAY_GATE_DATABASE_URL"] = rendered
    config = Config(ini)
    config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))  # ini interpolation
    script = ScriptDirectory.from_config(config)

    def pending():  # type: ignore[no-untyped-def]
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_heads()
        finally:
            engine.dispose()
        revisions = list(script.iterate_revisions("heads", current or "base"))
        revisions.reverse()  # iterated from the heads down
        return [r.revision for r in revisions]

    return protocol.drive(
        pending(), lambda revision: command.upgrade(config, revision), lambda: len(pending())
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
