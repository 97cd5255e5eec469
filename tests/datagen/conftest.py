# The PostgreSQL database of the loaders' tests, for the app's tests that load into PostgreSQL.
from tests.datagen.generator.conftest import pg_database  # noqa: F401
