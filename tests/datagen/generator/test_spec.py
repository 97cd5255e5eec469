"""Spec reading and checking: every error names the key at fault."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from datagen.generator import (
    SpecError,
    bundled_spec_names,
    load_bundled_spec,
    load_spec,
    loads_spec,
    parse_spec,
)

from .factories import build, every_generator, spec_data, two_tables

YAML_SPEC = """
name: small
chunking: {kind: integer, num_chunks: 4}
tables:
  T:
    rows: 10
    columns:
      id: {type: int64, generator: sequence}
      x: {type: float64, generator: uniform, min: 0, max: 1.0e3}
"""


def test_bundled_specs_load() -> None:
    assert bundled_spec_names() == ["fakedb", "querygen"]
    fakedb = load_bundled_spec("fakedb")
    assert fakedb.order == ("Object", "CcdVisit", "ForcedSource")
    assert fakedb.tables["ForcedSource"].depends_on == ("Object", "CcdVisit")
    querygen = load_bundled_spec("querygen")
    assert set(querygen.tables) >= {"numbers", "strings", "times", "facts"}


def test_unknown_bundled_spec_suggests() -> None:
    with pytest.raises(SpecError, match="did you mean 'fakedb'"):
        load_bundled_spec("fakdb")


def test_yaml_and_json_give_the_same_spec(tmp_path) -> None:
    from_yaml = loads_spec(YAML_SPEC)
    as_json = json.dumps(
        {
            "name": "small",
            "chunking": {"kind": "integer", "num_chunks": 4},
            "tables": {
                "T": {
                    "rows": 10,
                    "columns": {
                        "id": {"type": "int64", "generator": "sequence"},
                        "x": {"type": "float64", "generator": "uniform", "min": 0, "max": 1000},
                    },
                }
            },
        }
    )
    (tmp_path / "small.json").write_text(as_json)
    (tmp_path / "small.yaml").write_text(YAML_SPEC)
    assert load_spec(tmp_path / "small.json") == from_yaml
    assert load_spec(tmp_path / "small.yaml") == from_yaml


def test_as_json_reads_back_to_an_equal_spec() -> None:
    for name in bundled_spec_names():
        spec = load_bundled_spec(name)
        assert loads_spec(spec.as_json(), "json") == spec
    custom = build(every_generator())
    assert loads_spec(custom.as_json(), "json") == custom


def test_spec_error_has_path_and_message() -> None:
    data = spec_data()
    data["tables"]["T"]["columns"]["x"]["generator"] = "unifrom"
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    error = caught.value
    assert error.path == "tables.T.columns.x.generator"
    assert error.message == "unknown generator 'unifrom' (did you mean 'uniform'?)"
    assert str(error) == (
        "tables.T.columns.x.generator: unknown generator 'unifrom' (did you mean 'uniform'?)"
    )


def _col(**changes: Any) -> Callable[[dict], None]:
    """A change to column T.x."""

    def change(data: dict) -> None:
        column = data["tables"]["T"]["columns"]["x"]
        for key, value in changes.items():
            if value is None:
                column.pop(key, None)
            else:
                column[key] = value

    return change


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return change


BAD = [
    # (change, path, part of the message)
    (_set("tabels", {}), "tabels", "did you mean 'tables'"),
    (_set("tables.T.colums", {}), "tables.T.colums", "did you mean 'columns'"),
    (_col(maxx=3), "tables.T.columns.x.maxx", "did you mean 'max'"),
    (_col(type="flaot64"), "tables.T.columns.x.type", "did you mean 'float64'"),
    (_col(type=5), "tables.T.columns.x.type", "must be a type name"),
    (_col(type="decimal(30,2)"), "tables.T.columns.x.type", "precision must be 1..18"),
    (_col(type=None), "tables.T.columns.x.type", "is required"),
    (_col(generator="words"), "tables.T.columns.x.type", "does not make float64"),
    (_col(min=5, max=1), "tables.T.columns.x.max", "must be >= min"),
    (_col(min="a"), "tables.T.columns.x.min", "must be a number"),
    (_col(max=None), "tables.T.columns.x.max", "is required"),
    (_col(null_fraction=1.5), "tables.T.columns.x.null_fraction", "at most 1"),
    (_col(special_values={"fractio": 0.1}), "tables.T.columns.x.special_values.fractio", "did"),
    (_col(special_values={"fraction": 0.1, "values": ["x"]}), "x.special_values.values[0]", ""),
    (_col(generator="normal", min=None, max=None, stddev=-1), "tables.T.columns.x.stddev", ""),
    (_col(generator="sky_ra", min=None, max=None), "tables.T.columns.x.generator", "sky"),
    (
        _col(generator="choice", min=None, max=None, values=[1, 2], weights=[1]),
        "tables.T.columns.x.weights",
        "2 numbers",
    ),
    (_set("tables.T.rows", -1), "tables.T.rows", "at least 0"),
    (_set("tables.T.rows", {"poison": 3}), "tables.T.rows.poison", "did you mean 'poisson'"),
    (_set("tables.T.rows", {"density": 3}), "tables.T.rows.density", "sky chunking"),
    (_set("tables.T.rows", {"ratio": 2, "of": "U"}), "tables.T.rows.of", "unknown table 'U'"),
    (_set("tables.T.after", ["T"]), "tables.T.after[0]", "cannot depend on itself"),
    (_set("tables.T.after", ["X"]), "tables.T.after[0]", "unknown table 'X'"),
    (_set("tables.T.columns.y", {"type": "int64", "generator": "ref", "table": "Q"}), "", ""),
    (_set("chunking.kind", "skyy"), "chunking.kind", "did you mean 'sky'"),
    (_set("chunking.num_chunks", 0), "chunking.num_chunks", "at least 1"),
    (_set("tables.T.columns.bad-name", {}), "tables.T.columns.bad-name", "letters, digits"),
    (_set("tables.T.columns.__x", {}), "tables.T.columns.__x", "letters, digits"),
    (_set("tables.T.columns.X", {}), "tables.T.columns.X", "only in case"),
    (_set("tables.T.columns.id.stride", 5), "tables.T.columns.id.stride", "ids would collide"),
    (_set("tables.T.columns.id.type", "int32"), "", ""),
]


@pytest.mark.parametrize(("change", "path", "message"), BAD)
def test_bad_specs_name_the_key(change, path: str, message: str) -> None:
    data = spec_data()
    change(data)
    if path == "" and "y" in data["tables"]["T"]["columns"]:
        path, message = "tables.T.columns.y.table", "unknown table 'Q'"
    elif path == "":  # int32 ids: fine with 100 rows and 8 chunks
        parse_spec(data)
        return
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path.endswith(path), caught.value
    assert message in caught.value.message, caught.value


def test_ref_to_unknown_table_suggests() -> None:
    data = two_tables()
    data["tables"]["Child"]["columns"]["parent_id"]["table"] = "Parnet"
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == "tables.Child.columns.parent_id.table"
    assert "did you mean 'Parent'" in caught.value.message


def test_ref_type_must_match() -> None:
    data = two_tables()
    data["tables"]["Child"]["columns"]["parent_id"]["type"] = "int32"
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == "tables.Child.columns.parent_id.type"
    assert "Parent.id is int64" in caught.value.message


def test_cycle_through_after_is_an_error() -> None:
    data = two_tables()
    data["tables"]["Parent"]["after"] = ["Child"]
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert "cycle" in caught.value.message
    assert "Parent -> Child -> Parent" in caught.value.message or (
        "Child -> Parent -> Child" in caught.value.message
    )
    assert caught.value.path.startswith("tables.")


def test_cycle_of_three_through_ref_and_ratio() -> None:
    data = two_tables()
    data["tables"]["Third"] = {
        "rows": {"ratio": 1, "of": "Child"},
        "columns": {"id": {"type": "int64", "generator": "sequence"}},
    }
    data["tables"]["Parent"]["columns"]["third"] = {
        "type": "int64",
        "generator": "ref",
        "table": "Third",
    }
    with pytest.raises(SpecError, match="cycle: .*Parent.*Child.*Third|cycle: .*Child"):
        parse_spec(data)


def test_order_puts_dependencies_first_and_otherwise_keeps_the_spec_order() -> None:
    data = two_tables()
    data["tables"] = {"Child": data["tables"]["Child"], **data["tables"]}
    data["tables"]["Z"] = {"rows": 1, "columns": {"id": {"type": "int64", "generator": "sequence"}}}
    spec = parse_spec(data)
    assert spec.order == ("Parent", "Child", "Z")
    assert list(spec.tables) == ["Child", "Parent", "Z"]  # the spec's order for output


def test_yaml_problems_are_spec_errors() -> None:
    with pytest.raises(SpecError, match="line 3: duplicate key 'chunking'"):
        loads_spec("name: x\nchunking: {kind: integer, num_chunks: 1}\nchunking: {}\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        loads_spec("tables: [unclosed\n")
    with pytest.raises(SpecError, match="duplicate key"):
        loads_spec('{"tables": {}, "tables": {}}', "json")
    with pytest.raises(SpecError, match="the spec must be a mapping"):
        loads_spec("- a list\n")


def test_yaml_booleans_in_string_choices_are_explained() -> None:
    text = YAML_SPEC + "      answer: {type: string, generator: choice, values: [yes, no]}\n"
    with pytest.raises(SpecError) as caught:
        loads_spec(text)
    assert caught.value.path == "tables.T.columns.answer.values[0]"
    assert "quote it" in caught.value.message


def test_yaml_reads_exponents_without_a_dot_as_floats() -> None:
    spec = loads_spec(YAML_SPEC.replace("1.0e3", "1e3"))
    assert spec.tables["T"].columns["x"].params["max"] == 1000.0


def test_ids_that_overflow_int32_are_refused() -> None:
    data = spec_data()
    data["chunking"]["num_chunks"] = 1000
    data["tables"]["T"]["rows"] = 10_000_000
    data["tables"]["T"]["columns"]["id"]["type"] = "int32"
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == "tables.T.columns.id.type"
    assert "beyond int32" in caught.value.message


def test_sequence_stride_follows_the_row_bound() -> None:
    data = spec_data()
    data["tables"]["T"]["rows"] = {"poisson": 100}
    spec = parse_spec(data)
    stride = spec.tables["T"].columns["id"].params["stride"]
    assert stride == spec.tables["T"].rows.max_rows
    assert stride >= 100 + 10 * 10  # ten standard deviations of headroom


@pytest.mark.parametrize(
    ("column", "path", "message"),
    [
        ({"generator": "lookup", "table": "Parent", "column": "id"}, "generator", "pairs_within"),
        ({"generator": "ref", "table": "Parent", "column": "nope"}, "column", "no column 'nope'"),
        ({"generator": "ref", "table": "Child"}, "table", "cannot depend on itself"),
    ],
)
def test_column_links(column: dict, path: str, message: str) -> None:
    data = two_tables()
    data["tables"]["Child"]["columns"]["other"] = {"type": "int64", **column}
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == f"tables.Child.columns.other.{path}"
    assert message in caught.value.message


def test_pairs_need_plain_float_coordinates() -> None:
    data = copy.deepcopy(load_bundled_spec("fakedb").raw)
    del data["tables"]["Object"]["columns"]["subChunkId"]  # it would object first
    data["tables"]["Object"]["columns"]["ra"]["null_fraction"] = 0.1
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == "tables.ForcedSource.rows.pairs_within.left_ra"
    data = copy.deepcopy(load_bundled_spec("fakedb").raw)
    data["tables"]["ForcedSource"]["rows"]["pairs_within"]["right_dec"] = "decl"
    with pytest.raises(SpecError, match="has no column 'decl'.*did you mean 'dec'"):
        parse_spec(data)


def test_subchunk_id_needs_earlier_sky_columns() -> None:
    data = every_generator()
    columns = data["tables"]["All"]["columns"]
    columns["sub"]["dec"] = "f32"
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    assert caught.value.path == "tables.All.columns.sub.dec"
    data = every_generator()
    columns = data["tables"]["All"]["columns"]
    data["tables"]["All"]["columns"] = {"sub": columns.pop("sub"), **columns}
    with pytest.raises(SpecError, match="earlier column"):
        parse_spec(data)


def test_nullability_follows_what_a_column_can_hold() -> None:
    spec = build(every_generator())
    columns = spec.tables["All"].columns
    assert not columns["id"].nullable and not columns["pick"].nullable
    # A ref into a table whose row count is random may find it empty: NULL then.
    assert spec.tables["Refs"].columns["all_id"].nullable is False  # All has a fixed count
    querygen = load_bundled_spec("querygen")
    assert querygen.tables["strings"].columns["label"].nullable  # null among the choices
    assert querygen.tables["numbers"].columns["f32"].nullable
    assert not querygen.tables["numbers"].arrow_schema.field("id").nullable


def test_id_keys_name_the_ids_of_the_querygen_spec() -> None:
    from datagen.generator import load_bundled_spec

    keys, indexes = load_bundled_spec("querygen").id_keys()
    assert keys["numbers"] == ["id"] and "empty" in keys
    assert indexes == {"facts": [["number_id"], ["string_id"], ["time_id"]]}
