"""Triage's test name, host and context compare bytewise, as TestResult's (0012): a mute is
matched against results by equality, and on PostgreSQL an index serves a comparison only in
its own collation. SQLite compares bytes already: nothing to do there."""

from django.db import migrations

import core.fields

COLUMNS = {"test_name": (1000, ""), "host": (200, "Blank: any host."),
           "context": (200, "Blank: any context.")}  # fmt: skip


def _collate(collation: str):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        clauses = ", ".join(
            f'ALTER COLUMN {column} TYPE varchar({length}) COLLATE "{collation}"'
            for column, (length, _) in COLUMNS.items()
        )
        schema_editor.execute(f"ALTER TABLE results_triage {clauses}")
        schema_editor.execute("ANALYZE results_triage")  # a type change drops the statistics

    return alter


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0013_status_check_equalities"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="triage",
                    name=column,
                    field=core.fields.BytewiseCharField(
                        blank=True, max_length=length, **({"help_text": text} if text else {})
                    ),
                )
                for column, (length, text) in COLUMNS.items()
            ],
            database_operations=[migrations.RunPython(_collate("C"), _collate("default"))],
        )
    ]
