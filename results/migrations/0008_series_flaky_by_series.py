"""Flaky tests and their jobs by series (was: recurring prefix), passes on retry counted;
indexes for filtering runs by branch, commit and (PostgreSQL) attributes."""

from django.db import migrations, models

# Serves `attributes @> {"env": "prod"}` (the run list's ?attr=env:prod) on PostgreSQL;
# SQLite has no such index kind and filters the runs' table, which is small.
GIN_SQL = "CREATE INDEX IF NOT EXISTS run_attributes_gin ON {table} USING gin (attributes jsonb_path_ops)"


def add_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("results", "TestRun")._meta.db_table)
        schema_editor.execute(GIN_SQL.format(table=table))


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS run_attributes_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0007_series_and_messages"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="flakytest", name="unique_flaky_test"),
        migrations.RemoveIndex(model_name="flakytest", name="flaky_prefix_flips"),
        migrations.RemoveIndex(model_name="flakinessjob", name="flakinessjob_prefix_state"),
        migrations.RenameField(model_name="flakytest", old_name="prefix", new_name="series"),
        migrations.AlterField(
            model_name="flakytest", name="series", field=models.CharField(max_length=200)
        ),
        migrations.RenameField(model_name="flakinessjob", old_name="prefix", new_name="series"),
        migrations.AlterField(
            model_name="flakinessjob", name="series", field=models.CharField(max_length=200)
        ),
        migrations.AlterField(
            model_name="flakytest",
            name="flips",
            field=models.PositiveIntegerField(help_text="Status changes, passes on retry included."),
        ),
        migrations.AddField(
            model_name="flakytest",
            name="retried",
            field=models.PositiveIntegerField(default=0, help_text="Passes on retry among the flips."),
        ),
        migrations.AlterModelOptions(
            name="flakytest", options={"ordering": ["series", "-flips", "test_name"]}
        ),
        migrations.AddConstraint(
            model_name="flakytest",
            constraint=models.UniqueConstraint(
                fields=("series", "project", "host", "context", "test_name"),
                name="unique_flaky_test",
            ),
        ),
        migrations.AddIndex(
            model_name="flakytest",
            index=models.Index(fields=["series", "-flips"], name="flaky_series_flips"),
        ),
        migrations.AddIndex(
            model_name="flakinessjob",
            index=models.Index(fields=["series", "state"], name="flakinessjob_series_state"),
        ),
        migrations.AlterField(
            model_name="testrun",
            name="branch",
            field=models.CharField(blank=True, db_index=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="testrun",
            name="commit",
            field=models.CharField(blank=True, db_index=True, max_length=200),
        ),
        migrations.RunPython(add_gin, drop_gin),
    ]
