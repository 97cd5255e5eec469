"""Self-test of tests/postgres_plugin.py: the session talks to the backend chosen by --db."""

import pytest
from django.db import connection

pytestmark = [pytest.mark.db_dependent, pytest.mark.django_db]


def _selected_backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db", default="sqlite"))


def test_connection_uses_selected_backend(request: pytest.FixtureRequest) -> None:
    if _selected_backend(request) == "postgresql":
        assert connection.vendor == "postgresql"
        assert connection.pg_version >= 130000  # e.g. 150018 for 15.18
        # pytest-django created a throwaway test database on our server.
        assert connection.settings_dict["NAME"].startswith("test_")
        assert connection.settings_dict["HOST"] == "127.0.0.1"
    else:
        assert connection.vendor == "sqlite"


def test_round_trip_inside_test_transaction(request: pytest.FixtureRequest) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE plugin_probe (value integer)")
        cursor.execute("INSERT INTO plugin_probe (value) VALUES (41), (1)")
        cursor.execute("SELECT SUM(value) FROM plugin_probe")
        assert cursor.fetchone()[0] == 42
    if _selected_backend(request) == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == "postgres"
