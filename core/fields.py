"""Model fields shared by the apps."""

from __future__ import annotations

from django.db import models


class BytewiseCharField(models.CharField):
    """Text compared and sorted byte by byte on every database: PostgreSQL's "C" collation,
    as SQLite's BINARY default already is.

    For identifiers (test names, hosts) rather than prose. A linguistic collation
    (en_US.UTF-8, a typical database default) costs a locale comparison per index step: a
    bulk import's index inserts ran twice as fast with "C" and rows in index order. It also
    lets a btree serve `LIKE 'prefix%'`, which a linguistic collation cannot, and gives the
    same order on both databases. (Case-insensitive matching under "C" folds ASCII letters
    only: add `COLLATE "default"` where that matters.)"""

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
