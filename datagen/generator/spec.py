"""Specs: reading YAML or JSON, checking every key, and the Spec the generator runs from.

Every problem raises SpecError with the path of the key at fault, e.g.
``tables.Object.columns.ra.generator: unknown generator 'unifrom' (did you mean 'uniform'?)``.
docs/datagen.md is the reference of the format.
"""

from __future__ import annotations

import copy
import datetime as dt
import heapq
import json
import math
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from .chunking import Chunker, IntegerChunker, SkyChunker
from .coltypes import INT_RANGES, ColumnType, coerce_value, parse_type, special_values, suggest
from .columns import GENERATORS, number
from .errors import SpecError, bundled_spec_names

TOP_KEYS = ("name", "description", "chunking", "tables")
TABLE_KEYS = ("rows", "columns", "after")
COLUMN_KEYS = ("type", "generator", "null_fraction", "special_values", "duplicate_fraction")
ROW_KINDS = ("poisson", "density", "ratio", "pairs_within")
ROW_EXTRAS = {"poisson": ("max",), "density": ("max",), "ratio": ("of",), "pairs_within": ()}
PAIR_KEYS = ("left", "right", "radius_deg", "left_ra", "left_dec", "right_ra", "right_dec")
# SQL identifiers every engine takes unquoted-ish; "__" is kept for the generator's own streams,
# 63 is PostgreSQL's limit (it silently truncates longer names).
NAME_RE = re.compile(r"^(?!__)[A-Za-z_][A-Za-z0-9_]{0,62}$")
MAX_ROWS_PER_CHUNK = 1_000_000_000
MAX_CHUNKS = 2**31 - 1
# Arrow field metadata the Parquet writer reads: dictionary-encode this column. Up to 100,000
# distinct int64 values the dictionary stays under Parquet's 1 MB dictionary page; beyond that
# the writer would build one, give up, and have spent a pass for nothing.
DICTIONARY_HINT = b"datagen.dictionary"
DICTIONARY_LIMIT = 100_000


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: ColumnType
    generator: str
    params: dict[str, Any]
    null_fraction: float = 0.0
    special_fraction: float = 0.0
    special_values: tuple[Any, ...] = ()
    duplicate_fraction: float = 0.0
    # Few distinct values per chunk (choices, keys of a small table): worth dictionary-encoding
    # in Parquet. Set by the spec from the generator, not by the spec's author.
    dictionary: bool = False
    # Whether the column can hold NULLs at all (null_fraction, a null among the choices or
    # special values, a ref into a table that can be empty); if not, its Arrow field is NOT
    # NULL, which loaders can declare and Parquet stores without definition levels.
    nullable: bool = True

    @property
    def arrow_field(self) -> pa.Field:
        metadata = {DICTIONARY_HINT: b"1"} if self.dictionary else None
        return pa.field(self.name, self.type.arrow, nullable=self.nullable, metadata=metadata)

    @property
    def modified(self) -> bool:
        """Whether anything replaces some of the generator's values."""
        return bool(self.null_fraction or self.special_fraction or self.duplicate_fraction)


@dataclass(frozen=True)
class PairsSpec:
    """Rows are the pairs (left row, right row) of this chunk closer than radius_deg."""

    left: str
    right: str
    radius_deg: float
    left_ra: str = "ra"
    left_dec: str = "dec"
    right_ra: str = "ra"
    right_dec: str = "dec"


@dataclass(frozen=True)
class RowsSpec:
    kind: str  # "fixed", "poisson", "density", "ratio" or "pairs_within"
    count: int = 0  # fixed
    mean: float = 0.0  # poisson: lam; density: rows per square degree; ratio: the factor
    of: str | None = None  # ratio
    pairs: PairsSpec | None = None
    max_rows: int = 0  # never more rows than this in one chunk (ids are laid out by it)


@dataclass(frozen=True)
class TableSpec:
    name: str
    rows: RowsSpec
    columns: dict[str, ColumnSpec]
    after: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # after, plus tables its rows or columns read

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([c.arrow_field for c in self.columns.values()])


@dataclass(frozen=True)
class Spec:
    name: str
    chunker: Chunker
    tables: dict[str, TableSpec]  # in the spec's order
    order: tuple[str, ...]  # the order tables are generated in
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def chunk_ids(self) -> list[int]:
        return self.chunker.chunk_ids()

    def id_keys(self) -> tuple[dict[str, list[str]], dict[str, list[list[str]]]]:
        """(primary keys, indexes) for loaders.copy_between: `id` as each table's key where it
        has one, an index on every `*_id` column, so a reference engine joins on them fast."""
        keys = {t: ["id"] for t, table in self.tables.items() if "id" in table.columns}
        indexes = {
            t: [[c] for c in table.columns if c.endswith("_id")]
            for t, table in self.tables.items()
            if any(c.endswith("_id") for c in table.columns)
        }
        return keys, indexes

    def as_json(self) -> str:
        """The spec as JSON (dates as ISO strings, NaN and infinities as strings): what an app
        stores, and `loads_spec(text, "json")` reads back to an equal spec."""
        return json.dumps(_jsonable(self.raw), ensure_ascii=False, sort_keys=False)


# -- reading ------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys without a word; a spec must not."""


def _mapping_no_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (list, dict)):
            continue  # unhashable: construct_mapping reports it
        if key in seen:
            raise SpecError("", f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)
# YAML 1.1 (PyYAML) reads 1e6 and 1.0e6 as strings: take them as floats, as YAML 1.2 and JSON do.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise SpecError("", f"duplicate key {key!r}")
        result[key] = value
    return result


def loads_spec(text: str, format: str = "yaml", *, name: str | None = None) -> Spec:
    """A spec from YAML or JSON text."""
    if format == "json":
        try:
            data = json.loads(text, object_pairs_hook=_json_pairs)
        except json.JSONDecodeError as exc:
            raise SpecError("", f"not valid JSON: {exc}") from None
    elif format == "yaml":
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506  (a SafeLoader subclass)
        except yaml.YAMLError as exc:
            raise SpecError("", f"not valid YAML: {exc}") from None
    else:
        raise ValueError(f"format must be 'yaml' or 'json', not {format!r}")
    return parse_spec(data, name=name)


def load_spec(path: str | Path) -> Spec:
    """A spec from a .yaml, .yml or .json file."""
    path = Path(path)
    fmt = "json" if path.suffix.lower() == ".json" else "yaml"
    return loads_spec(path.read_text(encoding="utf-8"), fmt, name=path.stem)


def load_bundled_spec(name: str) -> Spec:
    """One of the specs shipped with the package: 'fakedb' or 'querygen'."""
    names = bundled_spec_names()
    if name not in names:
        raise SpecError("", f"no bundled spec '{name}'{suggest(name, names)}; bundled: {names}")
    text = resources.files("datagen.generator").joinpath(f"specs/{name}.yaml").read_text("utf-8")
    return loads_spec(text, name=name)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf": float columns read these back
    return value


# -- checking -----------------------------------------------------------------------------------


def _at(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _mapping(value: Any, path: str, what: str = "a mapping") -> dict[str, Any]:
    if not isinstance(value, dict):
        where = "the spec" if not path else "it"
        raise SpecError(path, f"{where} must be {what}, not {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise SpecError(_at(path, key), f"keys must be strings, not {key!r}")
    return value


def _known_keys(value: dict[str, Any], allowed: tuple[str, ...], path: str, what: str) -> None:
    for key in value:
        if key not in allowed:
            raise SpecError(
                _at(path, key),
                f"unknown key '{key}'{suggest(key, allowed)} in {what}; "
                f"keys are {', '.join(allowed)}",
            )


def _required(value: dict[str, Any], key: str, path: str) -> Any:
    if key not in value:
        raise SpecError(_at(path, key), "is required")
    return value[key]


def _identifier(name: str, path: str, what: str) -> None:
    if not NAME_RE.match(name):
        raise SpecError(
            path,
            f"{what} name '{name}' must be letters, digits and _, start with a letter or one _, "
            "and be at most 63 characters",
        )


def _fraction(value: Any, path: str) -> float:
    return float(number(value, path, low=0, high=1))


def parse_spec(data: Any, *, name: str | None = None) -> Spec:
    """Check a spec given as Python data (what YAML or JSON parsing gives) and build it."""
    spec = _mapping(data, "")
    _known_keys(spec, TOP_KEYS, "", "the spec")
    spec_name = spec.get("name", name or "spec")
    if not isinstance(spec_name, str) or not spec_name.strip():
        raise SpecError("name", "must be a non-empty string")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise SpecError("description", "must be a string")
    chunker = _parse_chunking(_required(spec, "chunking", ""), "chunking")
    tables_raw = _mapping(_required(spec, "tables", ""), "tables")
    if not tables_raw:
        raise SpecError("tables", "must name at least one table")
    _no_case_twins(list(tables_raw), "tables", "table")
    drafts = {t: _parse_table(t, raw, _at("tables", t), chunker) for t, raw in tables_raw.items()}
    tables, order = _link(drafts, chunker)
    return Spec(spec_name, chunker, tables, order, description, raw=copy.deepcopy(spec))


def _no_case_twins(names: list[str], path: str, what: str) -> None:
    """Engines that fold case (SQLite, unquoted SQL) see 'Object' and 'object' as one."""
    seen: dict[str, str] = {}
    for n in names:
        if n.lower() in seen:
            raise SpecError(
                _at(path, n), f"{what} '{n}' differs from '{seen[n.lower()]}' only in case"
            )
        seen[n.lower()] = n


def _parse_chunking(raw: Any, path: str) -> Chunker:
    chunking = _mapping(raw, path)
    kind = _required(chunking, "kind", path)
    if kind == "integer":
        _known_keys(chunking, ("kind", "num_chunks"), path, "integer chunking")
        count = _required(chunking, "num_chunks", path)
        return IntegerChunker(
            number(count, _at(path, "num_chunks"), integer=True, low=1, high=MAX_CHUNKS)
        )
    if kind == "sky":
        _known_keys(
            chunking, ("kind", "num_stripes", "num_substripes_per_stripe"), path, "sky chunking"
        )
        stripes = number(
            _required(chunking, "num_stripes", path),
            _at(path, "num_stripes"),
            integer=True,
            low=1,
            high=2_000,  # about 5 million chunks; LSST uses 85 to 340 stripes
        )
        subs = number(
            chunking.get("num_substripes_per_stripe", 1),
            _at(path, "num_substripes_per_stripe"),
            integer=True,
            low=1,
            high=1_000,
        )
        if stripes * subs > 180 * 3600:
            raise SpecError(path, "sub-stripes would be under one arcsecond high")
        return SkyChunker(stripes, subs)
    raise SpecError(
        _at(path, "kind"),
        f"unknown chunking '{kind}'{suggest(str(kind), ['integer', 'sky'])}; "
        "kinds are integer, sky",
    )


def _parse_rows(raw: Any, path: str, chunker: Chunker) -> RowsSpec:
    if isinstance(raw, int) and not isinstance(raw, bool):
        count = number(raw, path, integer=True, low=0, high=MAX_ROWS_PER_CHUNK)
        return RowsSpec("fixed", count=count, max_rows=count)
    if not isinstance(raw, dict):
        raise SpecError(
            path,
            "must be a row count or one of {poisson: ...}, {density: ...}, "
            "{ratio: ..., of: TABLE}, {pairs_within: {...}}",
        )
    rows = _mapping(raw, path)
    kinds = [k for k in ROW_KINDS if k in rows]
    if len(kinds) != 1:
        unknown = [k for k in rows if k not in ROW_KINDS and k not in ("max", "of")]
        if unknown:
            key = unknown[0]
            raise SpecError(
                _at(path, key),
                f"unknown key '{key}'{suggest(key, ROW_KINDS)}; "
                f"rows take one of {', '.join(ROW_KINDS)}",
            )
        raise SpecError(path, f"must hold exactly one of {', '.join(ROW_KINDS)}")
    kind = kinds[0]
    _known_keys(rows, (kind, *ROW_EXTRAS[kind]), path, f"{kind} rows")
    at = _at(path, kind)
    if kind in ("poisson", "density"):
        mean = float(number(rows[kind], at, low=0, high=MAX_ROWS_PER_CHUNK))
        if kind == "density" and not isinstance(chunker, SkyChunker):
            raise SpecError(at, "rows per square degree need sky chunking")
        cap = rows.get("max")
        if cap is not None:
            cap = number(cap, _at(path, "max"), integer=True, low=0, high=MAX_ROWS_PER_CHUNK)
        else:
            top = mean if kind == "poisson" else mean * _largest_chunk_area(chunker)
            # Ten standard deviations above the mean: a Poisson count never gets there.
            cap = min(MAX_ROWS_PER_CHUNK, int(math.ceil(top + 10 * math.sqrt(top) + 10)))
        return RowsSpec(kind, mean=mean, max_rows=cap)
    if kind == "ratio":
        factor = float(number(rows[kind], at, low=0, high=1e6))
        of = _required(rows, "of", path)
        if not isinstance(of, str):
            raise SpecError(_at(path, "of"), "must be a table name")
        return RowsSpec("ratio", mean=factor, of=of)
    pairs = _mapping(rows[kind], at)
    _known_keys(pairs, PAIR_KEYS, at, "pairs_within")
    names = {}
    for key in ("left", "right", "left_ra", "left_dec", "right_ra", "right_dec"):
        default = key.split("_")[-1] if "_" in key else None
        value = pairs.get(key, default)
        if value is None:
            raise SpecError(_at(at, key), "is required")
        if not isinstance(value, str):
            raise SpecError(_at(at, key), f"must be a name, not {value!r}")
        names[key] = value
    radius = float(
        number(_required(pairs, "radius_deg", at), _at(at, "radius_deg"), above=0, high=180)
    )
    if names["left"] == names["right"]:
        raise SpecError(_at(at, "right"), "must be another table than left")
    return RowsSpec("pairs_within", pairs=PairsSpec(radius_deg=radius, **names))


def _largest_chunk_area(chunker: Chunker) -> float:
    if not isinstance(chunker, SkyChunker):
        return 0.0
    # Chunks of one stripe are equal; the largest is in one of the stripes.
    return max(chunker.box(chunker.chunk_id(s, 0)).area_deg2 for s in range(chunker.num_stripes))


def _parse_table(name: str, raw: Any, path: str, chunker: Chunker) -> TableSpec:
    _identifier(name, path, "table")
    table = _mapping(raw, path)
    _known_keys(table, TABLE_KEYS, path, "a table")
    rows = _parse_rows(_required(table, "rows", path), _at(path, "rows"), chunker)
    columns_raw = _mapping(_required(table, "columns", path), _at(path, "columns"))
    if not columns_raw:
        raise SpecError(_at(path, "columns"), "must name at least one column")
    _no_case_twins(list(columns_raw), _at(path, "columns"), "column")
    columns = {
        c: _parse_column(c, raw_column, _at(_at(path, "columns"), c), chunker)
        for c, raw_column in columns_raw.items()
    }
    after_raw = table.get("after", [])
    if isinstance(after_raw, str):
        after_raw = [after_raw]
    if not isinstance(after_raw, list):
        raise SpecError(_at(path, "after"), "must be a list of table names")
    for i, other in enumerate(after_raw):
        if not isinstance(other, str):
            raise SpecError(f"{path}.after[{i}]", f"must be a table name, not {other!r}")
    return TableSpec(name, rows, columns, tuple(after_raw))


def _parse_column(name: str, raw: Any, path: str, chunker: Chunker) -> ColumnSpec:
    _identifier(name, path, "column")
    column = _mapping(raw, path, "a mapping with type and generator")
    ctype = parse_type(_required(column, "type", path), _at(path, "type"))
    gen_name = _required(column, "generator", path)
    if not isinstance(gen_name, str) or gen_name not in GENERATORS:
        raise SpecError(
            _at(path, "generator"),
            f"unknown generator '{gen_name}'{suggest(str(gen_name), list(GENERATORS))}",
        )
    gen = GENERATORS[gen_name]
    if ctype.kind not in gen.kinds:
        kinds = ", ".join(sorted(k if k != "decimal" else "decimal(p,s)" for k in gen.kinds))
        raise SpecError(
            _at(path, "type"),
            f"generator '{gen_name}' does not make {ctype.name}; it makes {kinds}",
        )
    if gen.needs_sky and not isinstance(chunker, SkyChunker):
        raise SpecError(_at(path, "generator"), f"'{gen_name}' needs sky chunking (kind: sky)")
    _known_keys(column, COLUMN_KEYS + gen.params, path, f"a '{gen_name}' column")
    for key in gen.required:
        _required(column, key, path)
    params = gen.check({k: column[k] for k in gen.params if k in column}, ctype, path)
    null_fraction = _fraction(column.get("null_fraction", 0), _at(path, "null_fraction"))
    duplicates = _fraction(column.get("duplicate_fraction", 0), _at(path, "duplicate_fraction"))
    special_fraction, specials = _parse_specials(column.get("special_values"), ctype, path)
    return ColumnSpec(
        name, ctype, gen_name, params, null_fraction, special_fraction, specials, duplicates
    )


def _parse_specials(raw: Any, ctype: ColumnType, path: str) -> tuple[float, tuple[Any, ...]]:
    at = _at(path, "special_values")
    if raw is None:
        return 0.0, ()
    if not isinstance(raw, dict):
        return _fraction(raw, at), tuple(special_values(ctype))
    _known_keys(raw, ("fraction", "values"), at, "special_values")
    fraction = _fraction(_required(raw, "fraction", at), _at(at, "fraction"))
    values = raw.get("values")
    if values is None:
        return fraction, tuple(special_values(ctype))
    if not isinstance(values, list) or not values:
        raise SpecError(_at(at, "values"), "must be a non-empty list")
    return fraction, tuple(
        coerce_value(ctype, v, f"{at}.values[{i}]") for i, v in enumerate(values)
    )


# -- linking tables -----------------------------------------------------------------------------


def _link(drafts: dict[str, TableSpec], chunker: Chunker) -> tuple[dict[str, TableSpec], tuple]:
    """Cross-table checks, the generation order, row bounds and sequence strides."""
    edges: dict[str, list[tuple[str, str]]] = {t: [] for t in drafts}  # table -> (needs, path)

    def need(table: str, other: str, path: str, what: str = "table") -> None:
        if other not in drafts:
            raise SpecError(path, f"unknown {what} '{other}'{suggest(other, list(drafts))}")
        if other == table:
            raise SpecError(path, f"table '{table}' cannot depend on itself")
        edges[table].append((other, path))

    for t, table in drafts.items():
        path = _at("tables", t)
        for i, other in enumerate(table.after):
            need(t, other, f"{path}.after[{i}]")
        rows = table.rows
        if rows.kind == "ratio":
            need(t, rows.of, _at(path, "rows.of"))
        if rows.pairs is not None:
            at = _at(path, "rows.pairs_within")
            for side in ("left", "right"):
                source = getattr(rows.pairs, side)
                need(t, source, _at(at, side))
                for coord in ("ra", "dec"):
                    key = f"{side}_{coord}"
                    _check_pair_column(drafts[source], getattr(rows.pairs, key), _at(at, key))
        for c, column in table.columns.items():
            _check_column_links(t, table, column, drafts, _at(_at(path, "columns"), c), need)

    order = _order(drafts, edges)
    linked: dict[str, TableSpec] = {}
    for t in order:
        table = drafts[t]
        rows = _bound_rows(table.rows, linked)
        columns = {
            c: replace(
                _with_stride(col, rows, chunker, f"tables.{t}.columns.{c}"),
                dictionary=_few_distinct(col, linked),
                nullable=_nullable(col, linked),
            )
            for c, col in table.columns.items()
        }
        depends = tuple(dict.fromkeys(other for other, _ in edges[t]))
        linked[t] = TableSpec(t, rows, columns, table.after, depends)
    return {t: linked[t] for t in drafts}, tuple(order)


def _check_pair_column(source: TableSpec, column: str, path: str) -> None:
    if column not in source.columns:
        hint = suggest(column, list(source.columns))
        raise SpecError(path, f"table '{source.name}' has no column '{column}'{hint}")
    col = source.columns[column]
    if not col.type.is_float or col.modified:
        raise SpecError(
            path,
            f"'{source.name}.{column}' must be a float column without nulls, special values or "
            "duplicates (pairs are found by position)",
        )


def _check_column_links(t, table, column: ColumnSpec, drafts, path: str, need) -> None:
    params = column.params
    if column.generator == "ref":
        need(t, params["table"], _at(path, "table"))
        source = drafts[params["table"]]
        if params["column"] is None:
            sequences = [c.name for c in source.columns.values() if c.generator == "sequence"]
            if len(sequences) != 1:
                raise SpecError(
                    _at(path, "table"),
                    f"table '{source.name}' has {len(sequences)} sequence columns; "
                    "say which with column:",
                )
            params["column"] = sequences[0]
        _same_type(column, source, params["column"], path)
    elif column.generator == "lookup":
        pairs = table.rows.pairs
        if pairs is None:
            raise SpecError(
                _at(path, "generator"), "lookup is for tables whose rows are pairs_within"
            )
        if params["table"] not in (pairs.left, pairs.right):
            raise SpecError(
                _at(path, "table"),
                f"must be '{pairs.left}' or '{pairs.right}', the tables this table pairs",
            )
        _same_type(column, drafts[params["table"]], params["column"], path)
    elif column.generator == "subchunk_id":
        names = list(table.columns)
        for key, wanted in (("ra", "sky_ra"), ("dec", "sky_dec")):
            other = params[key]
            if other not in table.columns or names.index(other) > names.index(column.name):
                raise SpecError(
                    _at(path, key), f"must name an earlier column of '{t}'{suggest(other, names)}"
                )
            if table.columns[other].generator != wanted or table.columns[other].modified:
                raise SpecError(
                    _at(path, key),
                    f"column '{other}' must be a plain {wanted} column (no nulls or specials)",
                )


def _same_type(column: ColumnSpec, source: TableSpec, name: str, path: str) -> None:
    if name not in source.columns:
        hint = suggest(name, list(source.columns))
        raise SpecError(_at(path, "column"), f"table '{source.name}' has no column '{name}'{hint}")
    theirs = source.columns[name].type
    if theirs != column.type:
        raise SpecError(
            _at(path, "type"),
            f"is {column.type.name} but {source.name}.{name} is {theirs.name}; they must match",
        )


def _order(drafts: dict[str, TableSpec], edges: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Tables after what they depend on, otherwise in the spec's order; a cycle is an error."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(t: str) -> None:
        state[t] = 1
        stack.append(t)
        for other, path in edges[t]:
            if state.get(other) == 1:
                cycle = stack[stack.index(other) :] + [other]
                raise SpecError(path, f"tables form a cycle: {' -> '.join(cycle)}")
            if other not in state:
                visit(other)
        stack.pop()
        state[t] = 2

    for t in drafts:
        if t not in state:
            visit(t)
    position = {t: i for i, t in enumerate(drafts)}
    waiting = {t: {o for o, _ in edges[t]} for t in drafts}
    ready = [(position[t], t) for t in drafts if not waiting[t]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, t = heapq.heappop(ready)
        order.append(t)
        for other in drafts:
            if t in waiting[other]:
                waiting[other].discard(t)
                if not waiting[other]:
                    heapq.heappush(ready, (position[other], other))
    return order


def _bound_rows(rows: RowsSpec, linked: dict[str, TableSpec]) -> RowsSpec:
    if rows.kind == "ratio":
        top = int(rows.mean * linked[rows.of].rows.max_rows + 0.5)
        return RowsSpec("ratio", mean=rows.mean, of=rows.of, max_rows=top)
    if rows.kind == "pairs_within":
        pairs = rows.pairs
        top = linked[pairs.left].rows.max_rows * linked[pairs.right].rows.max_rows
        return RowsSpec("pairs_within", pairs=pairs, max_rows=top)
    return rows


def _with_stride(column: ColumnSpec, rows: RowsSpec, chunker: Chunker, path: str) -> ColumnSpec:
    """A sequence's ids are start + chunk_id * stride + row: unique across chunks as long as no
    chunk has more than `stride` rows, which the row bound guarantees."""
    if column.generator != "sequence":
        if column.generator == "chunk_id":
            _fits(chunker.max_chunk_id, column, path, "chunk ids")
        return column
    start, stride = column.params["start"], column.params["stride"]
    if stride is None:
        stride = max(1, rows.max_rows)
    elif stride < rows.max_rows:
        raise SpecError(
            _at(path, "stride"),
            f"is {stride} but a chunk can have up to {rows.max_rows} rows; ids would collide",
        )
    low, _ = INT_RANGES[column.type.kind]
    if start < low:
        raise SpecError(_at(path, "start"), f"is below the range of {column.type.name}")
    _fits(start + chunker.max_chunk_id * stride + stride - 1, column, path, "ids")
    return replace(column, params=dict(column.params, stride=stride))


def _nullable(column: ColumnSpec, linked: dict[str, TableSpec]) -> bool:
    generator, params = column.generator, column.params
    if column.null_fraction > 0 or None in column.special_values:
        return True
    if generator == "choice":
        return None in params["values"]
    if generator == "constant":
        return params["value"] is None
    if generator in ("ref", "lookup"):
        source = linked[params["table"]]
        if source.columns[params["column"]].nullable:
            return True
        # A ref into a table with no rows in this chunk has nothing to point at: NULL.
        return generator == "ref" and not (source.rows.kind == "fixed" and source.rows.count > 0)
    return False


def _few_distinct(column: ColumnSpec, linked: dict[str, TableSpec]) -> bool:
    generator, params = column.generator, column.params
    if generator in ("constant", "chunk_id", "subchunk_id"):
        return True
    if generator == "choice":
        return len(params["values"]) <= DICTIONARY_LIMIT
    if generator == "words":
        return params["n"] == 1
    if generator in ("ref", "lookup"):
        return linked[params["table"]].rows.max_rows <= DICTIONARY_LIMIT
    return False


def _fits(top: int, column: ColumnSpec, path: str, what: str) -> None:
    _, high = INT_RANGES[column.type.kind]
    if top > high:
        raise SpecError(
            _at(path, "type"),
            f"{what} go up to {top}, beyond {column.type.name}; use int64 or fewer rows per chunk",
        )


__all__ = [
    "ColumnSpec",
    "PairsSpec",
    "RowsSpec",
    "Spec",
    "TableSpec",
    "bundled_spec_names",
    "load_bundled_spec",
    "load_spec",
    "loads_spec",
    "parse_spec",
]
