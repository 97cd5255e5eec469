"""Registering a dataset: an anonymized copy of a source (a PostgreSQL or SQLite Engine row, a
SQLite file, a PostgreSQL dump), kept as a template database on the gate's server or as a file.
The source is read once, here, and never again."""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction

from core.exceptions import AssayError, Conflict, NotFound
from core.models import Engine
from core.progress import Say
from migrations_gate.models import Dataset, DatasetKind
from migrations_gate.runner import datasets as store
from migrations_gate.runner.anonymize import RulesError, parse_rules

__all__ = ["check_rules", "register_dataset", "remove_dataset", "template_name"]

log = logging.getLogger(__name__)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def template_name(name: str) -> str:
    """The template database of dataset ``name`` (PostgreSQL names: no '-')."""
    return f"assay_gate_{name.replace('-', '_')}"


def _server(name: str | None) -> Engine:
    if not name:
        raise AssayError(
            "a PostgreSQL dataset needs the gate's server: an Engine row of kind postgresql "
            "(--server) where its template and clones live",
            code="server_required",
        )
    try:
        server = Engine.objects.get(name=name)
    except Engine.DoesNotExist:
        raise NotFound(f"no engine named {name!r}") from None
    if server.kind != Engine.Kind.POSTGRESQL:
        raise AssayError(
            f"{name} is a {server.kind} engine, not a PostgreSQL server", code="bad_server"
        )
    return server


def _secret() -> bytes:
    if not settings.ASSAY_GATE_SECRET:
        raise AssayError(
            "ASSAY_GATE_SECRET is not set: the anonymization is keyed with it", code="no_secret"
        )
    return settings.ASSAY_GATE_SECRET.encode()


def register_dataset(
    name: str,
    *,
    rules: str,
    engine: str | None = None,
    sqlite_file: str | None = None,
    dump_file: str | None = None,
    server: str | None = None,
    progress: Say = lambda line: None,
) -> Dataset:
    """Copy, anonymize and keep one source as dataset ``name``. Exactly one source: an Engine
    row (``engine``), a SQLite file or a PostgreSQL dump (custom or plain). A PostgreSQL
    dataset lives on ``server`` (an Engine row); a SQLite one under ASSAY_GATE_DIR."""
    if not _NAME_RE.match(name or ""):
        raise AssayError(
            f"dataset name {name!r}: lower-case letters, digits and -, at most 63", code="bad_name"
        )
    if sum(x is not None for x in (engine, sqlite_file, dump_file)) != 1:
        raise AssayError("give one source: an engine, a SQLite file or a dump", code="bad_source")
    if Dataset.objects.filter(name=name).exists():
        raise Conflict(f"a dataset named {name} exists")
    try:
        parsed = parse_rules(rules)
    except RulesError as exc:
        raise AssayError(f"anonymization rules: {exc}", code="bad_rules") from None
    secret = _secret()
    source_row = None
    if engine is not None:
        try:
            source_row = Engine.objects.get(name=engine)
        except Engine.DoesNotExist:
            raise NotFound(f"no engine named {engine!r}") from None
        if source_row.kind == Engine.Kind.SQLITE:
            sqlite_file = source_row.path
        elif source_row.kind != Engine.Kind.POSTGRESQL:
            raise AssayError(
                f"{engine} is a {source_row.kind} engine: the gate takes PostgreSQL or SQLite",
                code="bad_source",
            )
    try:
        if sqlite_file is not None:
            dest = Path(settings.ASSAY_GATE_DIR) / "datasets" / f"{name}.sqlite"
            dest.parent.mkdir(parents=True, exist_ok=True)
            made = store.register_sqlite(sqlite_file, dest, parsed, secret, progress)
            source = f"engine {engine} (sqlite)" if engine else str(sqlite_file)
            fields = {"kind": DatasetKind.SQLITE, "path": str(dest), "source": source[:500]}
        else:
            gate = _server(server)
            admin = gate.conninfo()
            if dump_file is not None:
                made = _register_dump(dump_file, admin, name, parsed, secret, progress)
                source = str(dump_file)
            else:
                assert source_row is not None
                made = store.register_postgresql(
                    source_row.conninfo(), admin, template_name(name), parsed, secret, progress
                )
                source = f"engine {source_row.name} (postgresql)"
            fields = {"kind": DatasetKind.POSTGRESQL, "server": gate,
                      "template": made.name, "source": source[:500]}  # fmt: skip
    except store.DatasetError as exc:
        raise AssayError(f"dataset {name}: {exc}", code="dataset_refused") from None
    try:
        with transaction.atomic():
            return Dataset.objects.create(
                name=name, rules=rules, rules_digest=made.rules_digest,
                size_bytes=made.size_bytes, tables=made.tables,
                schema_version=made.schema_version, **fields,
            )  # fmt: skip
    except BaseException:
        _discard(fields)  # the row did not land: neither may its copy
        raise


def _register_dump(
    dump_file: str, admin: str, name: str, rules, secret: bytes, progress: Say
) -> store.RegisteredDataset:  # type: ignore[no-untyped-def]
    """A dump is restored into a scratch database on the gate's server, registered from
    there, and the scratch dropped: a plain dump through psql, a custom one with pg_restore."""
    path = Path(dump_file)
    if not path.is_file():
        raise store.DatasetError(f"{dump_file}: no such dump file")
    with path.open("rb") as fh:
        head = fh.read(4096)
    custom = head.startswith(b"PGDMP")
    # A plain dump is SQL that pg_dump heads with this comment; anything else is not one
    if not custom and b"-- PostgreSQL database dump" not in head:
        raise store.DatasetError(
            f"{path.name} is not a PostgreSQL dump (pg_dump's custom or plain format)"
        )
    scratch = f"assay_gate_scratch_{uuid.uuid4().hex[:12]}"
    conninfo = store.create_database(admin, scratch)
    try:
        progress(f"restoring {path.name} into a scratch database")
        if custom:
            argv = [store.pg_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error",
                    "-d", conninfo, str(path)]  # fmt: skip
        else:
            argv = [store.pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                    "-f", str(path)]  # fmt: skip
        with tempfile.TemporaryFile() as err:
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=err, check=False)
            if done.returncode != 0:
                err.seek(0)
                lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln]
                raise store.DatasetError(
                    f"{path.name} does not restore: {lines[-1] if lines else done.returncode}"
                )
        return store.register_postgresql(
            conninfo, admin, template_name(name), rules, secret, progress
        )
    finally:
        store.drop(admin, scratch)


def _discard(fields: dict) -> None:
    """Remove a dataset's copy; a failure here is logged (the first error is the one to
    report)."""
    try:
        if fields.get("kind") == DatasetKind.SQLITE:
            Path(fields["path"]).unlink(missing_ok=True)
        elif fields.get("server") is not None:
            store.drop(fields["server"].conninfo(), fields["template"])
    except Exception:
        log.exception("could not remove the copy of a dataset: %s", fields)


def check_rules(rules: str, engine: str | None = None, sqlite_file: str | None = None) -> list[str]:
    """Without copying anything: what registration would refuse (bad rules; in strict mode the
    text-like columns without a rule; rules naming no column of the source)."""
    try:
        parsed = parse_rules(rules)
    except RulesError as exc:
        return [f"anonymization rules: {exc}"]
    if engine is None and sqlite_file is None:
        return []
    conninfo = None
    if engine is not None:
        row = Engine.objects.filter(name=engine).first()
        if row is None:
            raise NotFound(f"no engine named {engine!r}")
        if row.kind == Engine.Kind.SQLITE:
            sqlite_file = row.path
        else:
            conninfo = row.conninfo()
    try:
        missing, unused = store.rule_problems(parsed, conninfo=conninfo, sqlite_path=sqlite_file)
    except store.DatasetError as exc:
        raise AssayError(str(exc), code="dataset_refused") from None
    return [f"no rule for {c} (add a rule or keep)" for c in missing] + [
        f"a rule names no column of the source: {c}" for c in unused
    ]


def remove_dataset(name: str) -> None:
    try:
        dataset = Dataset.objects.get(name=name)
    except Dataset.DoesNotExist:
        raise NotFound(f"no dataset named {name!r}") from None
    fields = {"kind": dataset.kind, "path": dataset.path, "server": dataset.server,
              "template": dataset.template}  # fmt: skip
    dataset.delete()
    _discard(fields)
