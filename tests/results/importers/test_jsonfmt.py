"""Assay's JSON format "assay-results/1" and its JSON Schema."""

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest

from results.importers import ParseError, parse_file
from results.importers.jsonfmt import FORMAT_NAME, load_schema, parse_json

SCHEMA_PATH = (
    Path(__file__).resolve().parents[3]
    / "results"
    / "importers"
    / "schemas"
    / "assay-results-v1.schema.json"
)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "import-formats.md"

FULL = {
    "$schema": "https://example.invalid/assay-results-v1.schema.json",
    "format": "assay-results/1",
    "run": "nightly-2024-03-11",
    "project": "warehouse",
    "host": "ci-07",
    "context": "py3.12-pg16",
    "test_runner": "custom-harness",
    "results": [
        {
            "name": "storage.btree.test_insert",
            "status": "P",
            "start_time": "2024-03-11T10:15:02.25Z",
            "end_time": "2024-03-11T10:15:03Z",
            "location": "tests/storage/test_btree.py",
            "tda": {"pages": 12, "ratio": 0.5, "mode": "fast", "check": True},
            "tra": {"rows": "100"},
        },
        {
            "name": "storage.btree.test_split",
            "status": "F",
            "duration": 1.5,
            "log": "AssertionError: height 1 != 2\n",
            "host": "ci-08",
            "context": "py3.12-pg17",
            "project": "warehouse-next",
            "test_runner": "pytest",
        },
        {
            "name": "storage.btree.test_merge",
            "status": "x",
            "start_time": "2024-03-11T11:15:02+01:00",
        },
    ],
}


def parse(document) -> list:
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_json(text, "results.json").results


def error_of(document) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(document)
    return info.value


def with_result(**fields) -> dict:
    document = {"format": FORMAT_NAME, "results": [{"name": "t0", "status": "P"}]}
    document["results"].append(fields)
    return document


def test_full_document():
    insert, split, merge = parse(FULL)

    assert insert.test_name == "storage.btree.test_insert"
    assert (insert.test_run, insert.project, insert.host, insert.context) == (
        "nightly-2024-03-11",
        "warehouse",
        "ci-07",
        "py3.12-pg16",
    )
    assert insert.start_time == datetime(2024, 3, 11, 10, 15, 2, 250000, tzinfo=UTC)
    assert insert.end_time == datetime(2024, 3, 11, 10, 15, 3, tzinfo=UTC)
    assert insert.duration == 0.75  # from start and end
    assert insert.tda == {"pages": "12", "ratio": "0.5", "mode": "fast", "check": "true"}
    assert insert.tra == {"rows": "100"}
    assert (insert.location, insert.log, insert.test_runner) == (
        "tests/storage/test_btree.py",
        "",
        "custom-harness",
    )

    assert (split.status, split.duration, split.log) == (
        "F",
        1.5,
        "AssertionError: height 1 != 2\n",
    )
    assert (split.test_run, split.project, split.host, split.context, split.test_runner) == (
        "nightly-2024-03-11",
        "warehouse-next",
        "ci-08",
        "py3.12-pg17",
        "pytest",
    )
    assert (split.start_time, split.end_time, split.tda, split.tra) == (None, None, {}, {})

    assert merge.status == "x"
    assert merge.start_time == datetime(2024, 3, 11, 10, 15, 2, tzinfo=UTC)
    assert merge.start_time.utcoffset() == timedelta(hours=1)
    assert merge.duration is None


def test_minimal_document():
    (result,) = parse({"format": FORMAT_NAME, "results": [{"name": "t", "status": "D"}]})
    assert (result.test_name, result.status) == ("t", "D")
    assert (result.test_run, result.project, result.host, result.context) == (None,) * 4
    assert (result.test_runner, result.location, result.log) == ("", "", "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-11T10:15:02", datetime(2024, 3, 11, 10, 15, 2, tzinfo=UTC)),  # naive: UTC
        ("2024-03-11 10:15:02.5z", datetime(2024, 3, 11, 10, 15, 2, 500000, tzinfo=UTC)),
        ("2024-03-11t10:15:02,123456789Z", datetime(2024, 3, 11, 10, 15, 2, 123456, tzinfo=UTC)),
        (
            "2024-03-11T05:15:02-05:00",
            datetime(2024, 3, 11, 5, 15, 2, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ],
)
def test_timestamps(value, expected):
    (_, result) = parse(with_result(name="t", status="P", start_time=value))
    assert result.start_time == expected
    assert result.start_time.tzinfo is not None


def test_end_before_start_gives_no_duration():
    document = with_result(
        name="t", status="P", start_time="2024-03-11T10:00:01Z", end_time="2024-03-11T10:00:00Z"
    )
    assert parse(document)[1].duration is None


def test_empty_results_are_refused():
    error = error_of({"format": FORMAT_NAME, "results": []})
    assert (error.line, error.message) == (None, 'no test results found ("results" is empty)')


def test_same_name_in_another_host_or_context_is_not_a_duplicate():
    document = {
        "format": FORMAT_NAME,
        "results": [
            {"name": "t", "status": "P"},
            {"name": "t", "status": "P", "host": "h2"},
            {"name": "t", "status": "F", "context": "c2"},
        ],
    }
    assert len(parse(document)) == 3


def test_duplicate_results_are_refused():
    document = {
        "format": FORMAT_NAME,
        "host": "h",
        "results": [
            {"name": "a", "status": "P"},
            {"name": "t", "status": "P"},
            {"name": "t", "status": "F", "host": "h"},
        ],
    }
    error = error_of(document)
    assert error.message.startswith("results[2]: duplicate result for 't' (same as results[1]")


# -- errors name the JSON path ------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            with_result(name="t", status="X"),
            "results[1].status: 'X' is not a valid status "
            "(expected one of P, F, E, D, M or a lower-case letter a-z)",
        ),
        (with_result(name="t", status="PASS"), "results[1].status: 'PASS' is not a valid status"),
        (with_result(name="t", status=1), "results[1].status: 1 is not a valid status"),
        (with_result(name="t"), "results[1]: missing required field(s) 'status'"),
        (with_result(status="P"), "results[1]: missing required field(s) 'name'"),
        (with_result(name="t", status="P", stauts="P"), "results[1]: unknown field(s) 'stauts'"),
        (with_result(name=5, status="P"), "results[1].name: must be string, not 5"),
        (with_result(name="", status="P"), "results[1].name: must be longer than or equal to 1"),
        (with_result(name="  ", status="P"), "results[1].name: '  ' must not be blank"),
        (
            with_result(name="t", status="P", duration="1.5"),
            'results[1].duration: must be number, not "1.5"',
        ),
        (
            with_result(name="t", status="P", duration=-1),
            "results[1].duration: must be bigger than or equal to 0",
        ),
        (
            with_result(name="t", status="P", duration=True),
            "results[1].duration: must be number, not true",
        ),
        (with_result(name="t", status="P", log=["a"]), 'results[1].log: must be string, not ["a"]'),
        (
            with_result(name="t", status="P", tda={"x": None}),
            "results[1].tda.x: must be string or number or boolean, not null",
        ),
        (
            with_result(name="t", status="P", tra={"x": {"y": 1}}),
            'results[1].tra.x: must be string or number or boolean, not {"y": 1}',
        ),
        (with_result(name="t", status="P", tda=["a"]), 'results[1].tda: must be object, not ["a"]'),
        (
            with_result(name="t", status="P", host=""),
            "results[1].host: must be longer than or equal to 1",
        ),
        (
            with_result(name="t", status="P", start_time="yesterday"),
            "results[1].start_time: 'yesterday' is not an RFC 3339 date-time",
        ),
        (
            with_result(name="t", status="P", end_time="2024-03-11"),
            "results[1].end_time: '2024-03-11' is not an RFC 3339 date-time",
        ),
        (
            with_result(name="t", status="P", start_time="2024-02-30T10:00:00Z"),
            "results[1].start_time: '2024-02-30T10:00:00Z' is not a valid date-time",
        ),
        ({"format": FORMAT_NAME}, "top level: missing required field(s) 'results'"),
        ({"results": []}, "top level: missing required field(s) 'format'"),
        ({"format": FORMAT_NAME, "results": {}}, "results: must be array, not {}"),
        ({"format": FORMAT_NAME, "results": [], "runs": "x"}, "top level: unknown field(s) 'runs'"),
        ({"format": FORMAT_NAME, "results": [], "run": 7}, "run: must be string, not 7"),
        ({"format": FORMAT_NAME, "results": ["t"]}, 'results[0]: must be object, not "t"'),
        (
            {"format": "assay-results/2", "results": []},
            "format: unsupported format 'assay-results/2'",
        ),
        ({"format": 1, "results": []}, "format: unsupported format 1"),
        ([], "top level: must be object, not []"),
        ("null", "top level: must be object, not null"),
    ],
)
def test_schema_errors_name_the_path(document, message):
    error = error_of(document)
    assert error.line is None
    assert error.message.startswith(message)
    assert str(error).startswith(f"results.json: {message}")


def test_syntax_errors_report_the_line():
    text = (
        '{\n  "format": "assay-results/1",\n  "results": [\n    {"name": "t" "status": "P"}\n  ]\n}'
    )
    error = error_of(text)
    assert error.line == 4
    assert error.message == "invalid JSON: Expecting ',' delimiter (column 18)"


def test_truncated_document_is_refused_with_a_line_number():
    text = json.dumps(FULL, indent=2)
    cut = text[: len(text) // 2]
    error = error_of(cut)
    assert error.line == cut.count("\n") + 1
    assert error.message.startswith("invalid JSON: ")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant):
    text = (
        '{"format": "assay-results/1", "results": [{"name": "t", "status": "P", "duration": %s}]}'
    )
    error = error_of(text % constant)
    assert error.message == f"invalid JSON: {constant} is not a JSON number"


def test_overflowing_numbers_are_refused():
    head = '{"format": "assay-results/1", "results": [{"name": "t", "status": "P", '
    assert error_of(head + '"duration": 1e999}]}').message == (
        "results[0].duration: must be a finite number"
    )
    assert error_of(head + '"tra": {"x": -1e999}}]}').message == (
        "results[0].tra.x: must be a finite number"
    )


@pytest.mark.parametrize(
    "text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]
)
def test_deeply_nested_json_is_refused(text):
    assert error_of(text).message == "invalid JSON: nested too deeply"


# -- the schema file is the single definition of the format -------------------------------


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = load_schema()
    assert schema == json.loads(SCHEMA_PATH.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _documents():
    valid = [FULL, with_result(name="t", status="z", tda={}, tra={"k": 1.5})]
    invalid = [
        with_result(name="t", status="X"),
        with_result(name="t", status="P", extra=1),
        with_result(name="t", status="P", tda={"": "empty key"}),
        with_result(name="t", status="P", duration=-0.1),
        with_result(name="t", status="P", project="   "),
        with_result(name="t", status="P", start_time="2024-03-11T10:15:02+0100"),
        {"format": FORMAT_NAME, "results": [], "project": None},
        {"format": "assay-results/1 ", "results": []},
    ]
    return [(doc, True) for doc in valid] + [(doc, False) for doc in invalid]


@pytest.mark.parametrize(("document", "valid"), _documents())
def test_importer_agrees_with_the_reference_validator(document, valid):
    """The importer validates with fastjsonschema for speed; jsonschema is the reference."""
    reference = jsonschema.Draft202012Validator(load_schema())
    assert reference.is_valid(document) is valid
    if valid:
        parse(copy.deepcopy(document))
    else:
        with pytest.raises(ParseError):
            parse(copy.deepcopy(document))


def test_examples_in_the_user_documentation_are_valid():
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text("utf-8"), flags=re.DOTALL)
    examples = [block for block in blocks if FORMAT_NAME in block]
    assert examples
    reference = jsonschema.Draft202012Validator(load_schema())
    for example in examples:
        document = json.loads(example)
        reference.validate(document)
        assert parse_file(example.encode(), "example.json").results


# --- the build: series and attributes at the top level ----------------------------------------


def test_top_level_series_and_build_fields_describe_the_run():
    doc = {
        "format": FORMAT_NAME, "run": "build-7", "series": "nightly", "branch": "main",
        "commit": "abc123", "build_url": "https://ci.example.com/7",
        "started_at": "2026-11-02T09:00:00+01:00", "ended_at": "2026-11-02T09:10:00Z",
        "attributes": {"env": "prod", "python": "3.12"},
        "results": [{"name": "t.a", "status": "P"}],
    }  # fmt: skip
    build = parse_json(json.dumps(doc), "b.json").build
    assert (build.series, build.branch, build.commit) == ("nightly", "main", "abc123")
    assert build.build_url == "https://ci.example.com/7"
    assert build.started_at == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert build.ended_at == datetime(2026, 11, 2, 9, 10, tzinfo=UTC)
    assert build.attributes == {"env": "prod", "python": "3.12"}
    assert parse_json(json.dumps(MINIMAL_DOC), "m.json").build.series is None


MINIMAL_DOC = {"format": FORMAT_NAME, "results": [{"name": "t.a", "status": "P"}]}


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ({"attributes": {"env": 1}}, "attributes.env"),
        ({"attributes": "env=prod"}, "attributes"),
        ({"series": ""}, "series"),
        ({"started_at": "yesterday"}, "started_at"),
    ],
)
def test_bad_build_fields_are_refused_with_their_path(extra, where):
    with pytest.raises(ParseError, match=re.escape(where)):
        parse_json(json.dumps({**MINIMAL_DOC, **extra}), "b.json")


def test_message_field_else_the_logs_first_line_for_failures():
    results = parse(
        {
            "format": "assay-results/1",
            "results": [
                {"name": "a", "status": "F", "message": "boom 3", "log": "other"},
                {"name": "b", "status": "E", "log": "\n\nTimeoutError: 30 s\ntrace"},
                {"name": "c", "status": "P", "log": "fine"},
            ],
        }
    )
    assert [r.message for r in results] == ["boom 3", "TimeoutError: 30 s", ""]
    assert "message" in load_schema()["$defs"]["result"]["properties"]
