"""The schema two engines agree on: the tables and columns queries may use on both.

A table or column is kept when both catalogs hold its name (compared case-insensitively, as
both report it) with the same SqlType; everything else is left out, with the reason, for the
run's log (describe_differences).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from querygen.engine.engines import CatalogColumn, EngineClient
from querygen.engine.model import Column, Schema, Table

__all__ = ["LeftOut", "SchemaMatch", "common_schema", "describe_differences", "match_catalogs"]

# Identifiers PostgreSQL compares exactly (quoted); SQLite and DuckDB ignore case even quoted.
CASE_SENSITIVE_DIALECTS = frozenset({"postgres"})


@dataclass(frozen=True)
class LeftOut:
    table: str
    column: str | None  # None: the whole table
    reason: str

    def __str__(self) -> str:
        where = f"table {self.table}" if self.column is None else f"{self.table}.{self.column}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class SchemaMatch:
    a: str  # the engines' names, for the report
    b: str
    schema: Schema
    left_out: tuple[LeftOut, ...]


def common_schema(a: EngineClient, b: EngineClient) -> Schema:
    """The tables and columns both engines hold with the same SqlType.

    Tables come sorted by name (case-insensitively), columns in ``a``'s order; tables left with
    no column are dropped. Use match_schemas to also know what was left out.
    """
    return match_schemas(a, b).schema


def match_schemas(a: EngineClient, b: EngineClient) -> SchemaMatch:
    """common_schema and what it left out, from one catalog read per engine."""
    prefer_b = b.dialect in CASE_SENSITIVE_DIALECTS and a.dialect not in CASE_SENSITIVE_DIALECTS
    return match_catalogs(a.catalog(), b.catalog(), a_name=a.name, b_name=b.name, prefer_b=prefer_b)


def _by_key(
    names: Iterable[str],
    side: str,
    left_out: list[LeftOut],
    ambiguous: set[str],
    table: str | None = None,
) -> dict[str, str]:
    """casefolded name -> name. Names that differ only in case (PostgreSQL can hold "t" and
    "T") cannot be told apart on the other side: left out, their key added to ``ambiguous``."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.casefold(), []).append(name)
    keyed: dict[str, str] = {}
    for key, spellings in groups.items():
        if len(spellings) == 1:
            keyed[key] = spellings[0]
            continue
        ambiguous.add(key)
        reason = f"{len(spellings)} names differ only in case in {side}: {', '.join(spellings)}"
        for spelling in spellings:
            if table is None:
                left_out.append(LeftOut(spelling, None, reason))
            else:
                left_out.append(LeftOut(table, spelling, reason))
    return keyed


def _describe(column: CatalogColumn) -> str:
    mapped = column.type.value if column.type is not None else "not tested"
    return f"{column.engine_type} ({mapped})"


def match_catalogs(
    a: Sequence[CatalogColumn],
    b: Sequence[CatalogColumn],
    *,
    a_name: str = "a",
    b_name: str = "b",
    prefer_b: bool = False,
) -> SchemaMatch:
    """What two catalogs agree on. Names are spelled as ``a`` spells them, or as ``b`` does
    with ``prefer_b`` (when only ``b`` compares identifiers case-sensitively)."""
    left_out: list[LeftOut] = []
    a_tables = _group(a)
    b_tables = _group(b)
    ambiguous: set[str] = set()
    a_keys = _by_key(a_tables, a_name, left_out, ambiguous)
    b_keys = _by_key(b_tables, b_name, left_out, ambiguous)
    tables: list[Table] = []
    for key in sorted(a_keys.keys() | b_keys.keys()):
        if key in ambiguous:
            side = b_name if key in a_keys else a_name
            left_out.append(LeftOut((a_keys | b_keys)[key], None, f"ambiguous in {side}"))
            continue
        if key not in b_keys:
            left_out.append(LeftOut(a_keys[key], None, f"only in {a_name}"))
            continue
        if key not in a_keys:
            left_out.append(LeftOut(b_keys[key], None, f"only in {b_name}"))
            continue
        a_table, b_table = a_keys[key], b_keys[key]
        name = b_table if prefer_b else a_table
        a_cols = {c.column: c for c in a_tables[a_table]}
        b_cols = {c.column: c for c in b_tables[b_table]}
        twins: set[str] = set()
        a_ckeys = _by_key(a_cols, a_name, left_out, twins, name)
        b_ckeys = _by_key(b_cols, b_name, left_out, twins, name)
        kept: list[Column] = []
        for ckey in a_ckeys:  # a's order
            if ckey in twins:
                left_out.append(LeftOut(name, a_ckeys[ckey], f"ambiguous in {b_name}"))
                continue
            if ckey not in b_ckeys:
                left_out.append(LeftOut(name, a_ckeys[ckey], f"only in {a_name}"))
                continue
            ca, cb = a_cols[a_ckeys[ckey]], b_cols[b_ckeys[ckey]]
            column = cb.column if prefer_b else ca.column
            if ca.type is None or cb.type is None or ca.type != cb.type:
                reason = (
                    "not tested: " if ca.type is None or cb.type is None else "types differ: "
                ) + f"{a_name} {_describe(ca)}, {b_name} {_describe(cb)}"
                left_out.append(LeftOut(name, column, reason))
                continue
            kept.append(Column(column, ca.type))
        for ckey in b_ckeys.keys() - a_ckeys.keys():
            reason = f"ambiguous in {a_name}" if ckey in twins else f"only in {b_name}"
            left_out.append(LeftOut(name, b_ckeys[ckey], reason))
        if kept:
            tables.append(Table(name, tuple(kept)))
        else:
            left_out.append(LeftOut(name, None, "no column in common"))
    return SchemaMatch(a_name, b_name, Schema(tuple(tables)), tuple(sorted(left_out, key=_order)))


def _order(item: LeftOut) -> tuple[str, str, str]:
    return (item.table.casefold(), (item.column or "").casefold(), item.reason)


def _group(catalog: Sequence[CatalogColumn]) -> dict[str, list[CatalogColumn]]:
    tables: dict[str, list[CatalogColumn]] = {}
    for column in catalog:
        tables.setdefault(column.table, []).append(column)
    return tables


def describe_differences(match: SchemaMatch) -> str:
    """A few lines for the run's log: what is in common, and what was left out and why."""
    columns = sum(len(t.columns) for t in match.schema.tables)
    lines = [
        f"common schema of {match.a} and {match.b}: {len(match.schema.tables)} tables, "
        f"{columns} columns; {len(match.left_out)} left out"
    ]
    lines.extend(f"  {item}" for item in match.left_out)
    return "\n".join(lines)
