"""Arrow types as the loaders store them, and the engines' column types they map to.

Which Arrow types are supported, and how a table is cast to them, is datagen's choice; the
engines' type names are facts of each engine and come from dbkinds (through base.NeutralType).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

import dbkinds
from datagen.generator.targets import Kind, LoaderError, UnsupportedType
from dbkinds import base as kinds

TIMESTAMP = pa.timestamp("us")

# Arrow type (as stored) <-> the engines' neutral description; decimals are mapped apart.
_NEUTRAL: dict[pa.DataType, dbkinds.NeutralType] = {
    pa.int16(): kinds.INT16,
    pa.int32(): kinds.INT32,
    pa.int64(): kinds.INT64,
    pa.float32(): kinds.FLOAT32,
    pa.float64(): kinds.FLOAT64,
    pa.string(): kinds.STRING,
    pa.bool_(): kinds.BOOLEAN,
    pa.date32(): kinds.DATE_TYPE,
    TIMESTAMP: kinds.TIMESTAMP_TYPE,
}
_ARROW = {neutral: arrow for arrow, neutral in _NEUTRAL.items()}


def storage_type(t: pa.DataType) -> pa.DataType:
    """The supported type a column of Arrow type ``t`` is stored as, or UnsupportedType."""
    if pa.types.is_dictionary(t):
        return storage_type(t.value_type)
    if pa.types.is_large_string(t) or pa.types.is_string(t) or _is_string_view(t):
        return pa.string()
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            raise UnsupportedType(f"{t}: store timestamps as UTC without a time zone")
        return TIMESTAMP
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_decimal128(t):
        if not _decimal_fits(t.precision, t.scale):
            raise UnsupportedType(f"{t}: scale must be between 0 and the precision")
        return t
    if t in _NEUTRAL:
        return t
    raise UnsupportedType(
        f"Arrow type {t} has no mapping; supported: int16, int32, int64, float32, float64, "
        "decimal128, string, bool, date32, timestamp (no time zone)"
    )


def _is_string_view(t: pa.DataType) -> bool:
    check = getattr(pa.types, "is_string_view", None)  # pyarrow >= 16 has it; be defensive
    return bool(check and check(t))


def _decimal_fits(precision: int, scale: int) -> bool:
    """What Arrow's decimal128 holds."""
    return 1 <= precision <= 38 and 0 <= scale <= precision


def sql_type(kind: Kind, arrow_type: pa.DataType) -> str:
    """The column type ``create_tables`` declares for ``arrow_type`` on engine ``kind``."""
    t = storage_type(arrow_type)
    neutral = kinds.decimal(t.precision, t.scale) if pa.types.is_decimal128(t) else _NEUTRAL[t]
    return dbkinds.get(kind).type_name(neutral)


def reflected_type(
    kind: Kind, table: str, column: str, declared: str, precision: Any, scale: Any
) -> pa.DataType:
    """The Arrow type of a column the engine's catalog declares so (the inverse of sql_type)."""
    neutral = dbkinds.get(kind).column_type(declared, precision, scale)
    if neutral is not None and neutral.family == kinds.DECIMAL:
        p, s = neutral.precision, neutral.scale
        if p is not None and s is not None and _decimal_fits(p, s):
            return pa.decimal128(p, s)
    elif neutral is not None and neutral in _ARROW:
        return _ARROW[neutral]
    raise UnsupportedType(f"{table}.{column}: {kind} type {declared!r} has no Arrow mapping")


# --- tables and schemas -------------------------------------------------------------------------


def normalize_table(data: pa.Table | pa.RecordBatch) -> pa.Table:
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    target = normalize_schema(table.schema)
    if target.equals(table.schema):
        return table
    try:
        # Safe casts: a timestamp[ns] with nanoseconds fails here instead of losing them.
        return table.cast(target)
    except pa.ArrowInvalid as exc:
        raise LoaderError(
            f"cannot store the table's values as ({describe_schema(target)}): {exc}"
        ) from exc


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, storage_type(f.type), f.nullable) for f in schema])


def nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type) for f in schema])


def same_columns(a: pa.Schema, b: pa.Schema, kind: Kind) -> bool:
    key = dbkinds.get(kind).identifier_key
    return [(key(f.name), f.type) for f in a] == [(key(f.name), f.type) for f in b]


def describe_schema(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name} {f.type}" for f in schema)


def slices(table: pa.Table, rows: int | None) -> Iterator[pa.Table]:
    if rows is None or table.num_rows <= rows:
        yield table
        return
    for offset in range(0, table.num_rows, rows):
        yield table.slice(offset, rows)


def rebatch(batches: Iterable[pa.RecordBatch | pa.Table], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter) out of batches of any size."""
    pending: list[pa.Table] = []
    count = 0
    for item in batches:
        part = pa.Table.from_batches([item]) if isinstance(item, pa.RecordBatch) else item
        while part.num_rows:
            take = min(rows - count, part.num_rows)
            pending.append(part.slice(0, take))
            count += take
            part = part.slice(take)
            if count == rows:
                yield pa.concat_tables(pending).combine_chunks()
                pending, count = [], 0
    if count:
        yield pa.concat_tables(pending).combine_chunks()
