"""The API's query-parameter filters (django-filter), strict where django-filter's own are
lenient: a value the schema does not allow is a 400, never a filter silently dropped.
config/settings.py makes FilterBackend every view's."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django_filters import rest_framework as filters


class StrictBooleanField(forms.Field):
    """true or false (1 or 0); absent or empty: no filter."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        answer = {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())
        if answer is None:
            # The value goes in params: django-filter %-formats the message (a '%' in a
            # value made a 500, found by the API's fuzz test).
            raise ValidationError(
                "%(value)s: use true or false.", code="invalid", params={"value": repr(value)[:20]}
            )
        return answer


class BooleanFilter(filters.BooleanFilter):
    """django-filter's reads any other word as "no filter": ?valuable=yes listed every run."""

    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)  # the raw word, not a select's reading
        super().__init__(*args, **kwargs)


class IdFilter(filters.Filter):
    """A related row by id: an id that names no row finds nothing, as any filter does
    (django-filter's choice of rows answers 400 to a well-formed id)."""

    field_class = forms.IntegerField

    def filter(self, qs, value):
        if value is None:
            return qs
        # Through the related row's key: Django finds nothing for an id past the column's
        # range there, where group_id = 10**30 made SQLite raise (a 500).
        return qs.filter(**{f"{self.field_name}__pk": value})


_STRICT = {
    models.BooleanField: {"filter_class": BooleanFilter},
    models.ForeignKey: {"filter_class": IdFilter},
}


class FilterSet(filters.FilterSet):
    """The base of every filter set, those a view's `filterset_fields` makes included."""

    FILTER_DEFAULTS = {**filters.FilterSet.FILTER_DEFAULTS, **_STRICT}


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = FilterSet
