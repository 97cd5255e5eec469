import pytest
from django.core.exceptions import ValidationError

from core.exceptions import AssayError
from core.models import Engine

pytestmark = pytest.mark.django_db


def test_file_engines_need_a_path_and_postgresql_a_host_and_database():
    with pytest.raises(ValidationError) as err:
        Engine(name="ref", kind=Engine.Kind.SQLITE).full_clean()
    assert "path" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        Engine(name="pg", kind=Engine.Kind.POSTGRESQL, host="db").full_clean()
    assert "host" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        Engine(name="pg", kind="postgresql", host="db", database="x",
               password_env="not a name").full_clean()  # fmt: skip
    assert "password_env" in err.value.message_dict
    Engine(name="ok", kind=Engine.Kind.DUCKDB, path="/tmp/x.duckdb").full_clean()


def test_the_password_comes_from_the_environment_never_the_row(monkeypatch):
    engine = Engine.objects.create(
        name="pg", kind="postgresql", host="db.example", port=5433, database="ref",
        user="assay", password_env="ASSAY_TEST_PG_PASSWORD", options={"sslmode": "require"},
    )  # fmt: skip
    with pytest.raises(AssayError, match="ASSAY_TEST_PG_PASSWORD"):
        engine.conninfo()
    monkeypatch.setenv("ASSAY_TEST_PG_PASSWORD", "s3cr'et\\x")
    assert engine.conninfo() == (
        "host='db.example' port='5433' dbname='ref' user='assay' "
        "password='s3cr\\'et\\\\x' sslmode='require'"
    )
    engine.refresh_from_db()
    assert "s3cr" not in str(Engine.objects.values().get(pk=engine.pk))


def test_conninfo_is_for_postgresql_only():
    with pytest.raises(ValueError, match="not PostgreSQL"):
        Engine(name="f", kind="sqlite", path="/tmp/a.db").conninfo()


@pytest.mark.db_dependent
@pytest.mark.postgresql_only
def test_a_postgresql_engine_connects(settings, monkeypatch):
    import psycopg

    db = settings.DATABASES["default"]
    monkeypatch.setenv("ASSAY_TEST_PG_PASSWORD", db.get("PASSWORD") or "")
    engine = Engine(
        name="live", kind="postgresql", host=db["HOST"], port=int(db["PORT"]),
        database=db["NAME"], user=db["USER"],
        password_env="ASSAY_TEST_PG_PASSWORD" if db.get("PASSWORD") else "",
    )  # fmt: skip
    with psycopg.connect(engine.conninfo()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
