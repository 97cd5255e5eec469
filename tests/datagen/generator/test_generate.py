"""generate_chunk: determinism, row counts, ids, refs, nulls, the sky, and every generator."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from datagen.generator import generate_chunk, load_bundled_spec, parse_spec
from datagen.generator.generate import match_within
from datagen.generator.words import WORDS

from .factories import build, every_generator, spec_data, two_tables

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def fakedb():
    return load_bundled_spec("fakedb")


@pytest.fixture(scope="module")
def querygen():
    return load_bundled_spec("querygen")


def _middle_chunk(spec) -> int:
    ids = spec.chunk_ids()
    return ids[len(ids) // 2]


def test_same_chunk_twice_is_identical(fakedb, querygen) -> None:
    for spec, chunk_id in ((fakedb, _middle_chunk(fakedb)), (querygen, 2)):
        first, second = generate_chunk(spec, chunk_id, 7), generate_chunk(spec, chunk_id, 7)
        assert first.checksum == second.checksum
        assert first.rows == second.rows
        for name, table in first.tables.items():
            # equals() treats NaN as unequal to itself; compare the raw buffers instead.
            other = second.tables[name]
            for a, b in zip(table.columns, other.columns, strict=True):
                assert a.type == b.type and a.null_count == b.null_count
                for x, y in zip(a.chunks, b.chunks, strict=True):
                    assert [bytes(buf or b"") for buf in x.buffers()] == [
                        bytes(buf or b"") for buf in y.buffers()
                    ]


def test_other_chunk_or_seed_differs(querygen) -> None:
    base = generate_chunk(querygen, 1, 7)
    assert generate_chunk(querygen, 2, 7).checksum != base.checksum
    assert generate_chunk(querygen, 1, 8).checksum != base.checksum
    assert generate_chunk(querygen, 1, 8).table_checksums["empty"] == base.table_checksums["empty"]


def test_a_chunk_alone_equals_the_same_chunk_of_a_full_run(querygen) -> None:
    full_run = [generate_chunk(querygen, c, 11) for c in querygen.chunk_ids()]
    alone = generate_chunk(querygen, 3, 11)
    assert alone.checksum == full_run[3].checksum
    assert alone.table_checksums == full_run[3].table_checksums


def test_another_process_with_another_hash_seed_makes_the_same_chunk(querygen) -> None:
    """Seeds come from a stable hash of table and column names, not Python's salted hash()."""
    code = (
        "from datagen.generator import generate_chunk, load_bundled_spec;"
        "print(generate_chunk(load_bundled_spec('querygen'), 1, 99).checksum)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == generate_chunk(querygen, 1, 99).checksum


def test_known_checksum_pins_the_streams() -> None:
    """If this fails, a library upgrade or a code change altered generated data: chunks of old
    runs would no longer regenerate identically. Bump the checksum only on purpose (and say so
    in the release notes)."""
    data = generate_chunk(build(spec_data()), 3, 42)
    assert data.tables["T"].column("id").to_pylist()[:3] == [300, 301, 302]
    assert data.checksum == "2e76ca1908a22e7267c8d77acc06bc43273725cc627df67b0a122d851b8bafae"
    fakedb = load_bundled_spec("fakedb")
    assert generate_chunk(fakedb, 6729, 42).checksum == (
        "144a1e81bc22822468cf39695b1e511f6d4ae0321bee8c47f832c6fff1762fd8"
    )


def test_tables_do_not_depend_on_each_other_s_streams() -> None:
    """Adding a table, or nulls to a column, changes nothing else: each stream is separate."""
    data = two_tables()
    before = generate_chunk(parse_spec(data), 2, 5)
    data["tables"]["Extra"] = {"rows": 10, "columns": {"v": {"type": "bool", "generator": "bool"}}}
    data["tables"]["Parent"]["columns"]["name"]["null_fraction"] = 0.5
    after = generate_chunk(parse_spec(data), 2, 5)
    assert after.table_checksums["Child"] == before.table_checksums["Child"]
    names_before = before.tables["Parent"].column("name")
    names_after = after.tables["Parent"].column("name")
    assert pc.all(
        pc.or_kleene(pc.is_null(names_after), pc.equal(names_after, names_before))
    ).as_py()
    assert before.tables["Parent"].column("id").equals(after.tables["Parent"].column("id"))


def test_sequences_are_unique_across_chunks_and_dense_per_chunk(querygen) -> None:
    seen: set[int] = set()
    for chunk_id in querygen.chunk_ids():
        ids = generate_chunk(querygen, chunk_id, 3).tables["facts"].column("id").to_numpy()
        assert (np.diff(ids) == 1).all()
        assert seen.isdisjoint(ids.tolist())
        seen.update(ids.tolist())


def test_refs_point_at_ids_of_the_same_chunk(querygen) -> None:
    data = generate_chunk(querygen, 2, 3)
    facts = data.tables["facts"]
    for column, table in (("number_id", "numbers"), ("string_id", "strings"), ("time_id", "times")):
        ids = set(data.tables[table].column("id").to_pylist())
        values = [v for v in facts.column(column).to_pylist() if v is not None]
        assert values and set(values) <= ids
    # number_id is Zipf-skewed: its commonest key is far above a uniform share.
    counts = np.unique(facts.column("number_id").to_numpy(), return_counts=True)[1]
    assert counts.max() > 20 * len(facts) / data.rows["numbers"]


def test_ratio_rows(querygen) -> None:
    data = generate_chunk(querygen, 0, 3)
    assert data.rows["facts"] == 3 * data.rows["numbers"]
    assert data.rows["empty"] == 0


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.5])
def test_null_and_special_fractions_are_roughly_right(fraction: float) -> None:
    data = spec_data()
    data["tables"]["T"]["rows"] = 20_000
    data["tables"]["T"]["columns"]["x"]["null_fraction"] = fraction
    data["tables"]["T"]["columns"]["y"] = {
        "type": "int32",
        "generator": "uniform",
        "min": 1,
        "max": 10,
        "special_values": {"fraction": fraction, "values": [-7]},
    }
    table = generate_chunk(parse_spec(data), 0, 1).tables["T"]
    assert table.column("x").null_count / 20_000 == pytest.approx(fraction, abs=0.015)
    specials = pc.sum(pc.equal(table.column("y"), -7)).as_py()
    assert specials / 20_000 == pytest.approx(fraction, abs=0.015)


def test_not_null_columns_hold_no_nulls(fakedb, querygen) -> None:
    for spec, chunk_id in ((fakedb, _middle_chunk(fakedb)), (querygen, 1)):
        data = generate_chunk(spec, chunk_id, 3)
        for table in data.tables.values():
            for field, column in zip(table.schema, table.columns, strict=True):
                if not field.nullable:
                    assert column.null_count == 0, field.name


@pytest.mark.parametrize("position", [0, 1, 4000, -2, -1])
def test_objects_lie_in_their_chunk_s_box(fakedb, position: int) -> None:
    chunker = fakedb.chunker
    chunk_id = fakedb.chunk_ids()[position]
    data = generate_chunk(fakedb, chunk_id, 3)
    box = chunker.box(chunk_id)
    for table in ("Object", "CcdVisit"):
        ra = data.tables[table].column("ra").to_numpy()
        dec = data.tables[table].column("dec").to_numpy()
        assert len(ra) > 0
        assert box.contains(ra, dec).all()
        assert (chunker.chunk_of(ra, dec) == chunk_id).all()
    objects = data.tables["Object"]
    assert set(objects.column("chunkId").to_pylist()) == {chunk_id}
    sub = chunker.subchunk_of(objects.column("ra").to_numpy(), objects.column("dec").to_numpy())
    assert (objects.column("subChunkId").to_numpy() == sub).all()


def test_object_count_follows_density(fakedb) -> None:
    chunk_id = _middle_chunk(fakedb)
    rows = generate_chunk(fakedb, chunk_id, 3).rows["Object"]
    expected = 2000 * fakedb.chunker.box(chunk_id).area_deg2
    assert abs(rows - expected) < 6 * math.sqrt(expected)


def test_forced_sources_are_the_objects_within_each_visit_s_radius(fakedb) -> None:
    data = generate_chunk(fakedb, _middle_chunk(fakedb), 3)
    objects, visits, forced = (data.tables[t] for t in ("Object", "CcdVisit", "ForcedSource"))
    o_ra, o_dec = (np.radians(objects.column(c).to_numpy()) for c in ("ra", "dec"))
    v_ra, v_dec = (np.radians(visits.column(c).to_numpy()) for c in ("ra", "dec"))
    cos_d = np.sin(o_dec)[:, None] * np.sin(v_dec)[None, :] + np.cos(o_dec)[:, None] * np.cos(
        v_dec
    )[None, :] * np.cos(o_ra[:, None] - v_ra[None, :])
    distance = np.degrees(np.arccos(np.clip(cos_d, -1, 1)))
    o_idx, v_idx = np.nonzero(distance <= 1.4)
    object_ids = objects.column("objectId").to_numpy()
    visit_ids = visits.column("ccdVisitId").to_numpy()
    expected = set(zip(object_ids[o_idx].tolist(), visit_ids[v_idx].tolist(), strict=True))
    got = set(
        zip(
            forced.column("objectId").to_pylist(),
            forced.column("ccdVisitId").to_pylist(),
            strict=True,
        )
    )
    assert len(got) == forced.num_rows  # no pair twice
    # Pairs within a hair of the radius may fall either way by rounding; none other may differ.
    near_edge = {
        (object_ids[o], visit_ids[v])
        for o, v in zip(*np.nonzero(np.abs(distance - 1.4) < 1e-9), strict=True)
    }
    assert got ^ expected <= near_edge
    assert forced.num_rows > 10_000


def test_match_within_loops_over_the_smaller_side_with_the_same_result() -> None:
    rng = np.random.default_rng(1)
    a = (rng.uniform(10, 12, 300), rng.uniform(-1, 1, 300))
    b = (rng.uniform(10, 12, 40), rng.uniform(-1, 1, 40))
    left, right = match_within(*a, *b, 0.4)
    swapped_right, swapped_left = match_within(*b, *a, 0.4)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == set(
        zip(swapped_left.tolist(), swapped_right.tolist(), strict=True)
    )
    # Both grouped by their right side (the second array returned).
    assert (np.diff(right) >= 0).all() and (np.diff(swapped_left) >= 0).all()


def test_every_generator_makes_its_type_within_its_parameters() -> None:
    spec = build(every_generator())
    chunk_id = spec.chunk_ids()[200]
    data = generate_chunk(spec, chunk_id, 5)
    table = data.tables["All"]
    assert table.schema == spec.tables["All"].arrow_schema
    col = {name: table.column(name).to_pylist() for name in table.column_names}
    n = len(col["id"])
    assert n == 2000
    assert col["id"][0] == 1000 + chunk_id * 2000
    assert set(col["i32"]) == set(range(-5, 6))
    assert all(1.5 <= v <= 2.5 for v in col["f32"])
    assert np.mean(col["f64n"]) == pytest.approx(10, abs=0.3)
    assert {max(col["i32n"]), min(col["i32n"])} == {2**31 - 1, -(2**31)}  # clipped
    assert all(Decimal("-12.5") <= v <= Decimal("99.99") for v in col["dec"])
    assert {max(col["decn"]), min(col["decn"])} == {Decimal("999.9"), Decimal("-999.9")}
    assert all(v >= 0 for v in col["pois"]) and np.mean(col["pois"]) == pytest.approx(4, abs=0.3)
    assert set(col["pick"]) == {"a", "b"}  # weight 0: never
    assert col["pick"].count("a") / n == pytest.approx(0.75, abs=0.04)
    assert set(col["word"]) <= set(WORDS)
    assert all(len(v.split(" ")) == 3 for v in col["words3"])
    assert all(
        v[0] == v[0].upper() and v.endswith(".") and 2 <= len(v.split()) <= 5 for v in col["body"]
    )
    assert all(dt.date(2020, 1, 1) <= v <= dt.date(2020, 12, 31) for v in col["day"])
    assert all(dt.datetime(2020, 1, 1) <= v <= dt.datetime(2020, 1, 2) for v in col["at"])
    assert col["yes"].count(True) / n == pytest.approx(0.25, abs=0.04)
    assert set(col["const"]) == {Decimal("1.25")}
    assert set(col["chunk"]) == {chunk_id}
    box = spec.chunker.box(chunk_id)
    assert box.contains(np.array(col["ra"]), np.array(col["dec_"], dtype=np.float32)).all()
    assert set(col["sub"]) <= set(spec.chunker.subchunk_ids(chunk_id))
    refs = data.tables["Refs"]
    assert set(refs.column("all_id").to_pylist()) <= set(col["id"])
    hot = np.unique(refs.column("hot_id").to_numpy(), return_counts=True)[1]
    assert hot.max() > refs.num_rows / 3  # Zipf exponent 2: the first key takes ~60%


def test_zero_rows_everywhere() -> None:
    data = every_generator(rows=0)
    spec = build(data)
    result = generate_chunk(spec, spec.chunk_ids()[3], 1)
    assert result.rows["All"] == 0
    assert result.tables["All"].schema == spec.tables["All"].arrow_schema
    assert result.tables["Refs"].column("all_id").null_count == result.rows["Refs"]


def test_querygen_holds_the_values_that_break_engines(querygen) -> None:
    data = generate_chunk(querygen, 0, 1)
    numbers, strings, times = (data.tables[t] for t in ("numbers", "strings", "times"))
    for name, kind in (("f32", np.float32), ("f64", np.float64)):
        values = numbers.column(name).to_numpy(zero_copy_only=False)
        finite = values[~np.isnan(values)]
        assert np.isnan(numbers.column(name).fill_null(0).to_numpy()).any(), name
        assert np.isposinf(finite).any() and np.isneginf(finite).any(), name
        assert np.finfo(kind).max in finite and np.finfo(kind).smallest_normal in finite, name
        assert numbers.column(name).null_count > 0
    for name, low, high in (("i32", -(2**31), 2**31 - 1), ("i64", -(2**63), 2**63 - 1)):
        values = set(numbers.column(name).to_pylist())
        assert {low, high, None} <= values, name
    amounts = set(numbers.column("amount").to_pylist())
    assert {Decimal("99999999999999.9999"), Decimal("-99999999999999.9999")} <= amounts
    words = strings.column("word").to_pylist()
    assert "" in words and None in words
    assert any(w is not None and not w.isascii() for w in words)
    assert {"", None, "ä"} <= set(strings.column("label").to_pylist())
    assert any(len(set(strings.column("phrase").to_pylist())) < strings.num_rows for _ in [0])
    assert dt.date(1, 1, 1) in times.column("d").to_pylist()
    assert dt.datetime(9999, 12, 31, 23, 59, 59, 999999) in times.column("ts").to_pylist()
    assert data.rows["empty"] == 0


def test_bad_arguments() -> None:
    spec = build(spec_data())
    with pytest.raises(ValueError, match="not a chunk id"):
        generate_chunk(spec, 8, 1)
    with pytest.raises(ValueError, match="run_seed"):
        generate_chunk(spec, 0, -1)
    with pytest.raises(TypeError):
        generate_chunk(spec, "0", 1)  # type: ignore[arg-type]


def test_arrow_schema_is_what_loaders_see() -> None:
    schema = load_bundled_spec("fakedb").tables["ForcedSource"].arrow_schema
    assert schema.names == ["objectId", "ccdVisitId", "psFlux", "psFlux_Sigma"]
    assert schema.field("objectId").type == pa.int64()
    assert schema.field("psFlux").type == pa.float32()
