"""Matching test names by prefix, the same way on every database."""

from django.db.models import Q, Value
from django.db.models.functions import Substr
from django.db.models.lookups import Exact


def name_startswith(prefix: str, field: str = "test_name") -> Q:
    """Names starting with `prefix`, case-sensitively. Django's startswith is a LIKE, which
    SQLite compares without ASCII case (`eng.` would match `Eng.x`); the exact comparison of
    the name's head makes it right there and costs nothing on PostgreSQL."""
    if not prefix:
        return Q()
    head = Exact(Substr(field, 1, len(prefix)), Value(prefix))
    return Q(**{f"{field}__startswith": prefix}) & Q(head)
