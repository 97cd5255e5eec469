"""The OpenAPI schema's shared answers, documented in one place (a drf-spectacular
postprocessing hook, config/settings.py SPECTACULAR_SETTINGS): the errors every operation may
give besides its own answers, in the one error shape of core.exceptions, and who may read."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

ERROR_COMPONENT = "ErrorAnswer"
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error of the API: a code to test and a sentence to show.",
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
    "required": ["error", "detail"],
}
WRITES = {"post", "put", "patch", "delete"}
PAGE_PARAMETERS = {"page", "cursor"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }


def _takes_files(body: dict[str, Any], components: dict[str, Any]) -> bool:
    for media in body.values():
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        if '"format": "binary"' in json.dumps(schema):
            return True
    return False


def _errors_of(
    path: str, method: str, operation: dict[str, Any], components: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The error answers `operation` may give, by status code."""
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p.get("in") == "query"}
    body = operation.get("requestBody", {}).get("content", {})
    errors = {
        "401": _error("The token or session sent is not valid."),
        "403": _error(
            "Not allowed: a write needs a role that holds its permission, and reads need a "
            "login while ASSAY_PUBLIC_READ is off (docs/permissions.md)."
        ),
    }
    if query or body:
        errors["400"] = _error("A parameter or the body is not valid; `detail` says which.")
    if "{" in path or query & PAGE_PARAMETERS or body:
        errors["404"] = _error("No such object (the path's, the body's or the page).")
    if method in WRITES:
        errors["409"] = _error(
            "The write conflicts with what is kept (a valuable run's results, a merged group)."
        )
        errors["503"] = {
            **_error("The database stayed busy: try again after Retry-After seconds."),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before sending the request again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        }
    if _takes_files(body, components):
        errors["413"] = _error("The upload is larger than the limit `detail` names.")
    return errors


def _json_only(operation: dict[str, Any]) -> None:
    """A body the API reads as JSON is documented as JSON only: DRF also parses forms, but a
    form cannot carry what the JSON says (null, a number, an object)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        for media in list(content):
            if media != "application/json":
                del content[media]


def add_shared_answers(result: dict[str, Any], generator: Any, request: Any, public: bool,
                       **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    """Adds the shared error answers to every operation (an answer an operation documents
    itself wins), documents JSON bodies as JSON only, and marks reads as open to anonymous
    users while ASSAY_PUBLIC_READ is on. (Strict bodies say so through core.serializers.)"""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR_COMPONENT] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _json_only(operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    # Empty is as if not given (django-filter's, DRF's and our own rule).
                    parameter.setdefault("allowEmptyValue", True)
            for code, answer in _errors_of(path, method, operation, components).items():
                operation["responses"].setdefault(code, answer)
            if method not in WRITES and settings.ASSAY_PUBLIC_READ:
                security = operation.setdefault("security", [])
                if {} not in security:
                    security.append({})
    return result
