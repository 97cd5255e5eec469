"""TestResult's host, context and test_name compare bytewise (core.fields.BytewiseCharField):
PostgreSQL's "C" collation. SQLite compares bytes already, so its table is left alone (an
AlterField would copy the whole table there, three times)."""

from django.db import migrations

import core.fields

COLUMNS = {"host": 200, "context": 200, "test_name": 1000}


def _collate(collation: str):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        # One statement: the table and its indexes are rewritten once, not once per column.
        clauses = ", ".join(
            f'ALTER COLUMN {column} TYPE varchar({length}) COLLATE "{collation}"'
            for column, length in COLUMNS.items()
        )
        schema_editor.execute(f"ALTER TABLE results_testresult {clauses}")
        # A column's type change drops its statistics: the planner needs them back now, not
        # when autovacuum next finds a tenth of the table changed.
        schema_editor.execute("ANALYZE results_testresult")

    return alter


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0011_search_index_job"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="testresult",
                    name=column,
                    field=core.fields.BytewiseCharField(
                        max_length=length, blank=column != "test_name"
                    ),
                )
                for column, length in COLUMNS.items()
            ],
            database_operations=[migrations.RunPython(_collate("C"), _collate("default"))],
        )
    ]
