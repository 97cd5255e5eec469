"""Migration operations the apps' migrations share (only migrations import this module)."""

from __future__ import annotations

from django.db import migrations

from core.fields import BytewiseCharField


def alter_to_bytewise(
    model_name: str, table: str, fields: dict[str, BytewiseCharField]
) -> migrations.SeparateDatabaseAndState:
    """CharFields of `model_name` (its database table `table`) become BytewiseCharFields.

    PostgreSQL: one ALTER TABLE for all of them, so the table and its indexes are rewritten
    once, then ANALYZE (a column's type change drops its statistics; autovacuum would restore
    them only once a tenth of the table changed). SQLite compares bytes already: nothing is
    done there (an AlterField would copy the whole table, once per field)."""

    def collate(collation: str):
        def alter(apps, schema_editor) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            quote = schema_editor.quote_name
            clauses = ", ".join(
                f'ALTER COLUMN {quote(name)} TYPE varchar({field.max_length}) COLLATE "{collation}"'
                for name, field in fields.items()
            )
            schema_editor.execute(f"ALTER TABLE {quote(table)} {clauses}")
            schema_editor.execute(f"ANALYZE {quote(table)}")

        return alter

    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(model_name=model_name, name=name, field=field)
            for name, field in fields.items()
        ],
        database_operations=[migrations.RunPython(collate("C"), collate("default"))],
    )
