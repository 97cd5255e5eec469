"""Serializer fields every app's API shares."""

from rest_framework import serializers

from core.secrets import scrub


class ScrubbedText(serializers.CharField):
    """A text shown to anyone (a job's error): the shapes of secrets masked again as it is
    shown (core.secrets), for rows written before the scrubber existed. Without reading the
    known values: a list shows many rows."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: object) -> str:
        return scrub(super().to_representation(value), known=())
