"""core.schema: the OpenAPI schema's shared answers, added to every operation in one place."""

import pytest

ERROR = {"$ref": "#/components/schemas/ErrorAnswer"}


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _error_codes(operation: dict) -> set[str]:
    return {
        code
        for code, answer in operation["responses"].items()
        if answer.get("content", {}).get("application/json", {}).get("schema") == ERROR
    }


@pytest.mark.django_db
def test_every_operation_documents_the_errors_it_may_give():
    schema = _schema()
    assert schema["components"]["schemas"]["ErrorAnswer"]["required"] == ["error", "detail"]
    for path, method, operation in _operations(schema):
        codes = _error_codes(operation)
        assert {"401", "403"} <= codes, (method, path)
        if method in ("post", "patch"):
            assert "503" in codes, (method, path)  # the database stayed busy
        if "requestBody" in operation:
            assert {"400", "404"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
    imports = schema["paths"]["/api/v1/imports/"]["post"]
    assert "413" in _error_codes(imports)
    assert list(imports["requestBody"]["content"]) == ["multipart/form-data"]
    runs = schema["paths"]["/api/v1/runs/"]["get"]
    assert {"400", "404"} <= _error_codes(runs)  # a bad filter, a page past the end
    # an operation's own answer wins: the gate's 409 "not finished yet" stays its own
    summary = schema["paths"]["/api/v1/gate/checks/{id}/summary.md"]["get"]
    assert summary["responses"]["409"]["description"] == "Not finished yet."


@pytest.mark.django_db
def test_bodies_are_json_and_strict_ones_say_so():
    schema = _schema()
    components = schema["components"]["schemas"]
    submit = schema["paths"]["/api/v1/querygen/runs/"]["post"]["requestBody"]["content"]
    assert list(submit) == ["application/json"]
    assert components["QuerygenSubmitRequest"]["additionalProperties"] is False
    assert components["GateCheckSubmitRequest"]["additionalProperties"] is False
    # results' expected-test actions ignore unknown fields: nothing is promised there
    assert "additionalProperties" not in components["ExpectedActionRequest"]


@pytest.mark.django_db
@pytest.mark.parametrize("public", [True, False])
def test_reads_are_anonymous_only_while_public_read_is_on(settings, public):
    settings.ASSAY_PUBLIC_READ = public
    for _path, method, operation in _operations(_schema()):
        anonymous = {} in operation.get("security", [])
        assert anonymous == (public and method == "get"), (method, _path)
        for parameter in operation.get("parameters", []):
            # empty is as if not given, for every query parameter
            assert parameter.get("allowEmptyValue") is (parameter["in"] == "query" or None)
