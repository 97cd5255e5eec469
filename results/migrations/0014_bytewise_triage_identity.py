"""Triage's test name, host and context compare bytewise, as TestResult's (0012): a mute is
matched against results by equality, and on PostgreSQL an index serves a comparison only in
its own collation. SQLite's table is left alone (it compares bytes already)."""

from django.db import migrations

from core.fields import BytewiseCharField
from core.migration_ops import alter_to_bytewise


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0013_status_check_equalities"),
    ]

    operations = [
        alter_to_bytewise(
            "triage",
            "results_triage",
            {
                "test_name": BytewiseCharField(max_length=1000, blank=True),
                "host": BytewiseCharField(max_length=200, blank=True, help_text="Blank: any host."),
                "context": BytewiseCharField(
                    max_length=200, blank=True, help_text="Blank: any context."
                ),
            },
        )
    ]
