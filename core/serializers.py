"""What every app's API shares: request bodies of known fields only (said in the schema too),
and text fields shown with their secrets masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from core.exceptions import AssayError
from core.secrets import scrub


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


class ScrubbedText(serializers.CharField):
    """A text shown to anyone (a job's error): the shapes of secrets masked again as it is
    shown (core.secrets), for rows written before the scrubber existed. Without reading the
    known values: a list shows many rows."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: object) -> str:
        return scrub(super().to_representation(value), known=())
