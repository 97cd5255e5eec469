"""The API's request bodies: known fields only, said in the schema too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from core.exceptions import AssayError


class StrictSerializer(serializers.Serializer):
    """A body must be a JSON object of known fields: a typo is an error, not a default
    (400 bad_request, unknown_field). Its schema says additionalProperties: false."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if not isinstance(data, Mapping):
            raise AssayError("Send a JSON object.", code="bad_request")
        known = set(self.fields)
        unknown = sorted(set(data) - known)
        if unknown:
            raise AssayError(
                f"Unknown field(s) {unknown}; known: {sorted(known)}.", code="unknown_field"
            )
        return super().run_validation(data)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """drf-spectacular: a StrictSerializer's request schema refuses other properties."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
