"""Small specs for the generator's tests, built as Python data and changed one key at a time."""

from __future__ import annotations

import copy
from typing import Any

from datagen.generator import Spec, parse_spec


def spec_data(**tables: dict[str, Any]) -> dict[str, Any]:
    """A spec with integer chunking and the given tables (default: one table T)."""
    return {
        "name": "t",
        "chunking": {"kind": "integer", "num_chunks": 8},
        "tables": tables
        or {
            "T": {
                "rows": 100,
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "x": {"type": "float64", "generator": "uniform", "min": 0, "max": 1},
                },
            }
        },
    }


def two_tables() -> dict[str, Any]:
    return spec_data(
        Parent={
            "rows": 50,
            "columns": {
                "id": {"type": "int64", "generator": "sequence"},
                "name": {"type": "string", "generator": "words"},
            },
        },
        Child={
            "rows": {"ratio": 4, "of": "Parent"},
            "columns": {
                "id": {"type": "int64", "generator": "sequence"},
                "parent_id": {"type": "int64", "generator": "ref", "table": "Parent"},
            },
        },
    )


def every_generator(rows: int = 2000) -> dict[str, Any]:
    """One column per generator and type, sky chunking (for sky_ra, sky_dec, subchunk_id)."""
    columns = {
        "id": {"type": "int64", "generator": "sequence", "start": 1000},
        "i32": {"type": "int32", "generator": "uniform", "min": -5, "max": 5},
        "i64": {"type": "int64", "generator": "uniform", "min": -(2**63), "max": 2**63 - 1},
        "f32": {"type": "float32", "generator": "uniform", "min": 1.5, "max": 2.5},
        "f64n": {"type": "float64", "generator": "normal", "mean": 10, "stddev": 2},
        "i32n": {"type": "int32", "generator": "normal", "mean": 0, "stddev": 1e12},
        "dec": {"type": "decimal(10,2)", "generator": "uniform", "min": "-12.5", "max": 99.99},
        "decn": {"type": "decimal(4,1)", "generator": "normal", "mean": 0, "stddev": 1e6},
        "pois": {"type": "int32", "generator": "poisson", "lam": 4},
        "poisf": {"type": "float64", "generator": "poisson", "lam": 4},
        "pick": {
            "type": "string",
            "generator": "choice",
            "values": ["a", "b", "never"],
            "weights": [3, 1, 0],
        },
        "word": {"type": "string", "generator": "words"},
        "words3": {"type": "string", "generator": "words", "n": 3},
        "body": {"type": "string", "generator": "text", "min_words": 2, "max_words": 5},
        "day": {"type": "date", "generator": "date", "start": "2020-01-01", "end": "2020-12-31"},
        "at": {
            "type": "timestamp",
            "generator": "timestamp",
            "start": "2020-01-01 00:00:00",
            "end": "2020-01-02 00:00:00",
        },
        "yes": {"type": "bool", "generator": "bool", "p": 0.25},
        "const": {"type": "decimal(5,2)", "generator": "constant", "value": 1.25},
        "ra": {"type": "float64", "generator": "sky_ra"},
        "dec_": {"type": "float32", "generator": "sky_dec"},
        "chunk": {"type": "int32", "generator": "chunk_id"},
        "sub": {"type": "int32", "generator": "subchunk_id", "ra": "ra", "dec": "dec_2"},
        "dec_2": {"type": "float64", "generator": "sky_dec"},
    }
    # subchunk_id must follow its columns: move it last.
    columns["sub"] = columns.pop("sub")
    return {
        "name": "every",
        "chunking": {"kind": "sky", "num_stripes": 18, "num_substripes_per_stripe": 3},
        "tables": {
            "All": {"rows": rows, "columns": columns},
            "Refs": {
                "rows": {"poisson": 500},
                "columns": {
                    "id": {"type": "int64", "generator": "sequence"},
                    "all_id": {"type": "int64", "generator": "ref", "table": "All"},
                    "hot_id": {"type": "int64", "generator": "ref", "table": "All", "skew": 2},
                },
            },
        },
    }


def build(data: dict[str, Any]) -> Spec:
    return parse_spec(copy.deepcopy(data))
