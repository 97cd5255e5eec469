"""Registering datasets through the service: from a PostgreSQL dump (custom and plain), refused
in strict mode with nothing left, removed with its template."""

from __future__ import annotations

import subprocess

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from core.exceptions import AssayError
from core.models import Engine
from migrations_gate.models import Dataset
from migrations_gate.runner import datasets as store
from migrations_gate.services import datasets
from tests.postgres_plugin import server_database

pytestmark = [pytest.mark.db_dependent, pytest.mark.postgresql_only]


@pytest.fixture
def source(request, db):
    """A source with people and their notes, and the gate's server `gate-server`."""
    with server_database(request, "gate_dump_source") as conninfo:
        with psycopg.connect(conninfo) as conn:
            conn.execute("CREATE TABLE people (id int PRIMARY KEY, name text, born date)")
            conn.execute("INSERT INTO people SELECT g, 'Person ' || g, DATE '1980-01-01' + g "
                         "FROM generate_series(1, 100) g")  # fmt: skip
        params = conninfo_to_dict(conninfo)
        gate = Engine.objects.create(name="gate-server", kind="postgresql", host=params["host"],
                                     port=int(params["port"]), user=params["user"],
                                     database="postgres")  # fmt: skip
        yield conninfo
        for name in ("people-custom", "people-plain", "people-strict"):
            store.drop(gate.conninfo(), datasets.template_name(name))


def server_databases() -> set[str]:
    with psycopg.connect(Engine.objects.get(name="gate-server").conninfo()) as conn:
        return {n for (n,) in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.parametrize("fmt", ["custom", "plain"])
def test_a_dump_is_registered_anonymized(source, tmp_path, fmt) -> None:
    dump = tmp_path / f"people.{fmt}"
    subprocess.run([store.pg_tool("pg_dump"), f"--format={fmt}", f"--file={dump}",
                    f"--dbname={source}"], check=True)  # fmt: skip
    before = server_databases()
    dataset = datasets.register_dataset(
        f"people-{fmt}", rules="columns:\n  people.name: name\n  people.born: shift\n",
        dump_file=str(dump), server="gate-server",
    )  # fmt: skip
    assert dataset.tables == {"people": 100} and dataset.source == str(dump)
    assert server_databases() - before == {dataset.template}  # the scratch copy is gone
    datasets.remove_dataset(dataset.name)
    assert server_databases() == before and not Dataset.objects.exists()


def test_strict_mode_refuses_and_leaves_nothing(source, tmp_path) -> None:
    dump = tmp_path / "people.dump"
    subprocess.run([store.pg_tool("pg_dump"), "--format=custom", f"--file={dump}",
                    f"--dbname={source}"], check=True)  # fmt: skip
    before = server_databases()
    with pytest.raises(AssayError) as raised:
        datasets.register_dataset("people-strict", rules="columns: {}\n", dump_file=str(dump),
                                  server="gate-server")  # fmt: skip
    assert "strict anonymization: no rule for people.name" in str(raised.value.detail)
    assert server_databases() == before and not Dataset.objects.exists()


@pytest.mark.parametrize(
    "content", [b"\x00\xffnot a dump at all", b"", b"SELECT 1;\n", b"PGDMP\x01\x0e"]
)
def test_a_file_that_is_not_a_dump_is_refused_in_one_line(source, tmp_path, content) -> None:
    junk = tmp_path / "junk.dump"
    junk.write_bytes(content)
    before = server_databases()
    with pytest.raises(AssayError) as raised:
        datasets.register_dataset("people-plain", rules="columns: {}\n", dump_file=str(junk),
                                  server="gate-server")  # fmt: skip
    detail = str(raised.value.detail)
    assert "junk.dump is not a PostgreSQL dump" in detail or "junk.dump does not restore" in detail
    assert "\n" not in str(raised.value.detail) and server_databases() == before
