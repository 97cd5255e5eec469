"""The column generators: what parameters each takes, which types it makes, and how it makes a
whole column in a few numpy or Arrow calls (never a Python loop per row).

A generator's `check` turns the spec's parameters into plain Python values (raising SpecError at
the bad key); its `make` returns the column for one chunk, as a numpy array in the type's numpy
representation (unscaled decimals, days, microseconds) or as an Arrow array of the column type.
Checks that need other tables (ref, lookup, subchunk_id) are in spec.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .chunking import Box, Chunker, points_in_box
from .coltypes import (
    INT_RANGES,
    ColumnType,
    coerce_value,
    is_number,
    to_numeric,
)
from .errors import SpecError
from .words import WORDS

ALL_KINDS = frozenset(
    ("int32", "int64", "float32", "float64", "decimal", "string", "bool", "date", "timestamp")
)
INTS = frozenset(("int32", "int64"))
FLOATS = frozenset(("float32", "float64"))
NUMBERS = INTS | FLOATS | {"decimal"}
MAX_WORDS = 1000
MAX_CHOICES = 100_000


@dataclass
class ChunkContext:
    """What a generator may read besides its own random stream: the chunk, the tables this
    chunk has finished, and the columns of the current table made so far."""

    chunk_id: int
    chunker: Chunker
    box: Box | None
    tables: dict[str, pa.Table] = field(default_factory=dict)
    # For a pairs_within table: the row of each source table that each output row comes from.
    pair_rows: dict[str, np.ndarray] = field(default_factory=dict)
    # Columns of the current table before nulls and special values, by name.
    base: dict[str, np.ndarray] = field(default_factory=dict)

    def column(self, table: str, column: str) -> pa.Array:
        values = self.tables[table].column(column)
        return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


Params = dict[str, Any]
Made = np.ndarray | pa.Array
Check = Callable[[Params, ColumnType, str], Params]
Rng = np.random.Generator | None  # None for generators that draw nothing
Make = Callable[[ChunkContext, ColumnType, Params, Rng, int], Made]


@dataclass(frozen=True)
class Generator:
    name: str
    kinds: frozenset[str]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    check: Check
    make: Make
    needs_sky: bool = False
    random: bool = True  # False: make() gets no random stream (creating one costs ~10 us)

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


def _at(path: str, key: str) -> str:
    return f"{path}.{key}"


def number(
    value: Any,
    path: str,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
) -> Any:
    """A finite number (an int when `integer`), within [low, high] and above `above`."""
    if integer:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(path, f"must be an integer, not {value!r}")
    elif not is_number(value) or not math.isfinite(value):
        raise SpecError(path, f"must be a finite number, not {value!r}")
    if low is not None and value < low:
        raise SpecError(path, f"must be at least {low}, not {value}")
    if high is not None and value > high:
        raise SpecError(path, f"must be at most {high}, not {value}")
    if above is not None and value <= above:
        raise SpecError(path, f"must be greater than {above}, not {value}")
    return value


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(path, f"must be a name, not {value!r}")
    return value


def _value_range(params: Params, ctype: ColumnType, path: str, low: str, high: str) -> Params:
    """Two literals of the column's type, low <= high, as numbers generators compute with."""
    a = coerce_value(ctype, params[low], _at(path, low))
    b = coerce_value(ctype, params[high], _at(path, high))
    if a is None or b is None:
        raise SpecError(_at(path, low if a is None else high), "must not be null")
    x, y = to_numeric(ctype, a), to_numeric(ctype, b)
    if ctype.is_float:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise SpecError(_at(path, low if not math.isfinite(x) else high), "must be finite")
        limit = float(np.finfo(ctype.numpy).max)
        if y - x > limit:
            raise SpecError(path, f"{high} - {low} overflows {ctype.name}")
    if x > y:
        raise SpecError(_at(path, high), f"must be >= {low} ({params[high]!r} < {params[low]!r})")
    return {low: x, high: y}


def _clip_to_type(values: np.ndarray, ctype: ColumnType) -> np.ndarray:
    """Rounded floats into an integer type's range (decimals: into their digits)."""
    if ctype.kind == "decimal":
        top = float(10**ctype.precision - 1)
        low, high = -top, top
    else:
        low, high = INT_RANGES[ctype.kind]
        # The largest double below 2**63 (2**63 itself does not fit an int64).
        high = float(np.nextafter(float(high) + 1.0, 0.0)) if ctype.kind == "int64" else high
    return np.clip(np.rint(values), low, high).astype(ctype.numpy)


# -- sequence, chunk_id, subchunk_id ----------------------------------------------------------


def _check_sequence(params: Params, ctype: ColumnType, path: str) -> Params:
    start = number(params.get("start", 0), _at(path, "start"), integer=True)
    stride = params.get("stride")
    if stride is not None:
        stride = number(stride, _at(path, "stride"), integer=True, low=1)
    return {"start": start, "stride": stride}  # spec.py fills a missing stride in


def _make_sequence(ctx: ChunkContext, ctype: ColumnType, params: Params, rng: Rng, n: int) -> Made:
    first = params["start"] + ctx.chunk_id * params["stride"]
    return (np.arange(n, dtype=np.int64) + first).astype(ctype.numpy, copy=False)


def _no_params(params: Params, ctype: ColumnType, path: str) -> Params:
    return {}


def _make_chunk_id(ctx: ChunkContext, ctype: ColumnType, params: Params, rng: Rng, n: int) -> Made:
    return np.full(n, ctx.chunk_id, dtype=ctype.numpy)


def _check_subchunk(params: Params, ctype: ColumnType, path: str) -> Params:
    return {k: _name(params[k], _at(path, k)) for k in ("ra", "dec")}


def _make_subchunk(ctx: ChunkContext, ctype: ColumnType, params: Params, rng: Rng, n: int) -> Made:
    ra, dec = ctx.base[params["ra"]], ctx.base[params["dec"]]
    return ctx.chunker.subchunk_of(ra, dec, ctx.chunk_id).astype(ctype.numpy)


# -- numbers ----------------------------------------------------------------------------------


def _check_uniform(params: Params, ctype: ColumnType, path: str) -> Params:
    return _value_range(params, ctype, path, "min", "max")


def _make_uniform(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    low, high = params["min"], params["max"]
    if ctype.is_float:
        dtype = ctype.numpy.type
        values = rng.random(n, dtype=dtype)
        values *= dtype(high - low)
        values += dtype(low)
        return values
    dtype = np.int32 if ctype.kind == "int32" else np.int64
    return rng.integers(low, high, size=n, dtype=dtype, endpoint=True)


def _check_normal(params: Params, ctype: ColumnType, path: str) -> Params:
    mean = number(params.get("mean", 0.0), _at(path, "mean"))
    stddev = number(params.get("stddev", 1.0), _at(path, "stddev"), low=0)
    if ctype.kind == "float32" and abs(mean) > float(np.finfo(np.float32).max):
        raise SpecError(_at(path, "mean"), "is outside the range of float32")
    return {"mean": float(mean), "stddev": float(stddev)}


def _make_normal(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    mean, stddev = params["mean"], params["stddev"]
    if ctype.kind == "float32":
        values = rng.standard_normal(n, dtype=np.float32)
        values *= np.float32(stddev)  # in place: no temporaries on the hot path
        values += np.float32(mean)
        return values
    values = rng.normal(mean, stddev, n)
    if ctype.kind == "float64":
        return values
    if ctype.kind == "decimal":
        values = values * 10.0**ctype.scale
    return _clip_to_type(values, ctype)


def _check_poisson(params: Params, ctype: ColumnType, path: str) -> Params:
    return {"lam": float(number(params["lam"], _at(path, "lam"), low=0, high=1e15))}


def _make_poisson(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    values = rng.poisson(params["lam"], n)
    if ctype.kind == "int32":
        return np.minimum(values, INT_RANGES["int32"][1]).astype(np.int32)
    return values.astype(ctype.numpy, copy=False)


# -- choice, constant, bool ----------------------------------------------------------------------


def _check_choice(params: Params, ctype: ColumnType, path: str) -> Params:
    values = params["values"]
    if not isinstance(values, list) or not values:
        raise SpecError(_at(path, "values"), "must be a non-empty list")
    if len(values) > MAX_CHOICES:
        raise SpecError(_at(path, "values"), f"has more than {MAX_CHOICES} values")
    coerced = [coerce_value(ctype, v, f"{path}.values[{i}]") for i, v in enumerate(values)]
    weights = params.get("weights")
    probabilities = None
    if weights is not None:
        if not isinstance(weights, list) or len(weights) != len(values):
            raise SpecError(
                _at(path, "weights"), f"must be a list of {len(values)} numbers, one per value"
            )
        floats = [float(number(w, f"{path}.weights[{i}]", low=0)) for i, w in enumerate(weights)]
        total = math.fsum(floats)
        if total <= 0:
            raise SpecError(_at(path, "weights"), "must not all be zero")
        probabilities = tuple(w / total for w in floats)
    return {"values": tuple(coerced), "p": probabilities}


def _make_choice(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    options = pa.array(list(params["values"]), type=ctype.arrow)
    if params["p"] is None:
        picks = rng.integers(0, len(options), size=n)
    else:
        picks = rng.choice(len(options), size=n, p=np.array(params["p"]))
    return options.take(pa.array(picks))


def _check_constant(params: Params, ctype: ColumnType, path: str) -> Params:
    return {"value": coerce_value(ctype, params["value"], _at(path, "value"))}


def _make_constant(ctx: ChunkContext, ctype: ColumnType, params: Params, rng: Rng, n: int) -> Made:
    return pa.repeat(pa.scalar(params["value"], type=ctype.arrow), n)


def _check_bool(params: Params, ctype: ColumnType, path: str) -> Params:
    return {"p": float(number(params.get("p", 0.5), _at(path, "p"), low=0, high=1))}


def _make_bool(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    return rng.random(n) < params["p"]


# -- words and text -----------------------------------------------------------------------------

_WORD_ARRAY = pa.array(WORDS, type=pa.string())


def _join_words(rng: np.random.Generator, counts: np.ndarray) -> pa.Array:
    """One string per row: counts[i] words from the list, joined by spaces (in Arrow's C++)."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    picks = _WORD_ARRAY.take(pa.array(rng.integers(0, len(WORDS), size=int(offsets[-1]))))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), picks), " ")


def _check_words(params: Params, ctype: ColumnType, path: str) -> Params:
    return {"n": number(params.get("n", 1), _at(path, "n"), integer=True, low=1, high=MAX_WORDS)}


def _make_words(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    if params["n"] == 1:
        return _WORD_ARRAY.take(pa.array(rng.integers(0, len(WORDS), size=n)))
    return _join_words(rng, np.full(n, params["n"], dtype=np.int32))


def _check_text(params: Params, ctype: ColumnType, path: str) -> Params:
    low = number(params.get("min_words", 4), _at(path, "min_words"), integer=True, low=1)
    high = number(params.get("max_words", 12), _at(path, "max_words"), integer=True, high=MAX_WORDS)
    if high < low:
        raise SpecError(_at(path, "max_words"), f"must be >= min_words ({high} < {low})")
    return {"min_words": low, "max_words": high}


def _make_text(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    counts = rng.integers(params["min_words"], params["max_words"], size=n, endpoint=True)
    sentences = pc.utf8_capitalize(_join_words(rng, counts.astype(np.int32)))
    return pc.binary_join_element_wise(sentences, ".", "")


# -- dates and timestamps -----------------------------------------------------------------------


def _check_span(params: Params, ctype: ColumnType, path: str) -> Params:
    return _value_range(params, ctype, path, "start", "end")


def _make_span(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    return rng.integers(params["start"], params["end"], size=n, endpoint=True).astype(
        ctype.numpy, copy=False
    )


# -- the sky ------------------------------------------------------------------------------------


def _inside(values: np.ndarray, low: float, high: float, dtype: type) -> np.ndarray:
    """Values rounded to float32 can land on or past a box edge: keep them inside."""
    low_t, high_t = dtype(low), dtype(high)
    if low_t < low:
        low_t = np.nextafter(low_t, dtype(np.inf))
    if high_t >= high:
        high_t = np.nextafter(high_t, dtype(-np.inf))
    return np.clip(values.astype(dtype), low_t, high_t)


def _make_sky(coordinate: str) -> Make:
    def make(
        ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
    ) -> Made:
        assert ctx.box is not None  # spec.py refuses sky generators without a sky chunker
        values = points_in_box(rng, ctx.box, n, coordinate)
        if ctype.kind == "float32":
            box = ctx.box
            low, high = (
                (box.ra_min, box.ra_max) if coordinate == "ra" else (box.dec_min, box.dec_max)
            )
            return _inside(values, low, high, np.float32)
        return values

    return make


# -- other tables -------------------------------------------------------------------------------


def _check_ref(params: Params, ctype: ColumnType, path: str) -> Params:
    column = params.get("column")
    skew = number(params.get("skew", 0), _at(path, "skew"), low=0)
    if 0 < skew <= 1:
        raise SpecError(_at(path, "skew"), "must be 0 (uniform) or a Zipf exponent above 1")
    return {
        "table": _name(params["table"], _at(path, "table")),
        "column": None if column is None else _name(column, _at(path, "column")),
        "skew": float(skew),
    }


def _make_ref(
    ctx: ChunkContext, ctype: ColumnType, params: Params, rng: np.random.Generator, n: int
) -> Made:
    source = ctx.column(params["table"], params["column"])
    if len(source) == 0:
        return pa.nulls(n, type=ctype.arrow)  # nothing to refer to in this chunk
    if params["skew"]:
        # Zipf ranks: row 0 is the hottest key, for joins with a few very common values.
        picks = (rng.zipf(params["skew"], size=n) - 1) % len(source)
    else:
        picks = rng.integers(0, len(source), size=n)
    return source.take(pa.array(picks))


def _check_lookup(params: Params, ctype: ColumnType, path: str) -> Params:
    return {k: _name(params[k], _at(path, k)) for k in ("table", "column")}


def _make_lookup(ctx: ChunkContext, ctype: ColumnType, params: Params, rng: Rng, n: int) -> Made:
    source = ctx.column(params["table"], params["column"])
    return source.take(pa.array(ctx.pair_rows[params["table"]]))


def _gen(
    name: str,
    kinds: frozenset[str] | set[str],
    check: Check,
    make: Make,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
    needs_sky: bool = False,
    random: bool = True,
) -> Generator:
    return Generator(name, frozenset(kinds), required, optional, check, make, needs_sky, random)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        _gen(
            "sequence", INTS, _check_sequence, _make_sequence, (), ("start", "stride"), random=False
        ),
        _gen("uniform", NUMBERS, _check_uniform, _make_uniform, ("min", "max")),
        _gen("normal", NUMBERS, _check_normal, _make_normal, (), ("mean", "stddev")),
        _gen("poisson", INTS | FLOATS, _check_poisson, _make_poisson, ("lam",)),
        _gen("choice", ALL_KINDS, _check_choice, _make_choice, ("values",), ("weights",)),
        _gen("words", {"string"}, _check_words, _make_words, (), ("n",)),
        _gen("text", {"string"}, _check_text, _make_text, (), ("min_words", "max_words")),
        _gen("date", {"date"}, _check_span, _make_span, ("start", "end")),
        _gen("timestamp", {"timestamp"}, _check_span, _make_span, ("start", "end")),
        _gen("bool", {"bool"}, _check_bool, _make_bool, (), ("p",)),
        _gen("constant", ALL_KINDS, _check_constant, _make_constant, ("value",), random=False),
        _gen("ref", INTS, _check_ref, _make_ref, ("table",), ("column", "skew")),
        _gen("lookup", ALL_KINDS, _check_lookup, _make_lookup, ("table", "column"), random=False),
        _gen("sky_ra", FLOATS, _no_params, _make_sky("ra"), needs_sky=True),
        _gen("sky_dec", FLOATS, _no_params, _make_sky("dec"), needs_sky=True),
        _gen("chunk_id", INTS, _no_params, _make_chunk_id, random=False),
        _gen("subchunk_id", INTS, _check_subchunk, _make_subchunk, ("ra", "dec"), (), True, False),
    )
}


def to_arrow(values: Made, ctype: ColumnType) -> pa.Array:
    """A generator's output as an Arrow array of the column's type."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        return values if values.type == ctype.arrow else values.cast(ctype.arrow)
    n = len(values)
    if ctype.kind == "decimal":
        # decimal128 is 16 bytes little-endian two's complement: the int64 and its sign word.
        words = np.empty((n, 2), dtype=np.int64)
        words[:, 0] = values
        words[:, 1] = values >> 63
        return pa.Array.from_buffers(ctype.arrow, n, [None, pa.py_buffer(words)])
    if ctype.kind in ("date", "timestamp"):
        raw = np.ascontiguousarray(values, dtype=ctype.numpy)
        return pa.Array.from_buffers(ctype.arrow, n, [None, pa.py_buffer(raw)])
    return pa.array(values, type=ctype.arrow)
