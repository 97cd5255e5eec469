"""Copying tables from one target to another, as Impala's data_generator filled its reference
PostgreSQL: create, copy in Arrow batches, then keys and indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa

from datagen.generator.bulk import (
    DRIVER_ERRORS,
    Engine,
    check_table_spec,
    connected,
    create_table,
    failed,
)
from datagen.generator.targets import InvalidIdentifier, LoaderError, Target

ProgressCallback = Callable[[str, int, int], None]
"""``progress(table, rows_copied, rows_total)``, called before the first and after every batch."""


def copy_between(
    source: Target,
    dest: Target,
    tables: Sequence[str] | None = None,
    *,
    batch_rows: int = 100_000,
    primary_keys: Mapping[str, Sequence[str]] | None = None,
    indexes: Mapping[str, Sequence[Sequence[str]]] | None = None,
    replace: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Copy tables (default: all of the source's) to ``dest``; returns rows copied per table.

    Per table, in one destination transaction: create it from the schema read back from the
    source, copy the rows in Arrow batches of at most ``batch_rows``, then add the primary key
    and the ``indexes`` (``{"t": [["a"], ["b", "c"]]}``) after the data, as Impala's
    data_generator did for its reference PostgreSQL. A table already on ``dest`` raises
    TableExists unless ``replace``. Source and destination must be different databases.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    primary_keys = primary_keys or {}
    indexes = indexes or {}
    copied: dict[str, int] = {}
    with connected(source) as (src, sconn), connected(dest) as (dst, dconn):
        names = list(tables) if tables is not None else src.db.list_tables(sconn)
        unknown = (set(primary_keys) | set(indexes)) - set(names)
        if unknown:
            raise InvalidIdentifier(f"keys or indexes name tables not copied: {sorted(unknown)}")
        plans: list[tuple[str, str, pa.Schema]] = []
        for name in names:
            stored = src.find_table(sconn, name)
            if stored is None:
                raise LoaderError(f"table {name!r} not found on {source!r}")
            pk = list(primary_keys.get(name, ()))
            schema = src.reflect(sconn, stored)
            schema = pa.schema([f.with_nullable(f.nullable and f.name not in pk) for f in schema])
            key_sets = ([pk] if pk else []) + [list(cols) for cols in indexes.get(name, ())]
            check_table_spec(dest.kind, name, schema, key_sets)
            plans.append((name, stored, schema))
        for name, stored, schema in plans:
            copied[name] = _copy_table(
                src, sconn, dst, dconn, name, stored, schema,
                batch_rows=batch_rows,
                primary_key=list(primary_keys.get(name, ())),
                indexes=[list(cols) for cols in indexes.get(name, ())],
                replace=replace,
                progress=progress,
                dest=dest,
            )  # fmt: skip
    return copied


def _copy_table(
    src: Engine,
    sconn: Any,
    dst: Engine,
    dconn: Any,
    name: str,
    stored: str,
    schema: pa.Schema,
    *,
    batch_rows: int,
    primary_key: list[str],
    indexes: list[list[str]],
    replace: bool,
    progress: ProgressCallback | None,
    dest: Target,
) -> int:
    total = src.count(sconn, stored)
    done = 0
    if progress is not None:
        progress(name, 0, total)

    def batches() -> Iterator[pa.Table]:
        nonlocal done
        for part in src.read(sconn, stored, schema, batch_rows):
            yield part
            done += part.num_rows  # the destination has taken the batch by now
            if progress is not None:
                progress(name, done, total)

    try:
        with dst.transaction(dconn):
            create_table(dst, dconn, name, schema, (), replace=replace, exists_ok=False)
            rows = dst.write(dconn, name, schema.names, batches())
            # Keys and indexes after the data: one sort instead of a tree maintained per row.
            if primary_key:
                dst.add_primary_key(dconn, name, primary_key)
            for columns in indexes:
                dst.create_index(dconn, name, columns)
    except DRIVER_ERRORS as exc:
        raise failed(f"copying {name!r}", dest, exc) from exc
    return rows
