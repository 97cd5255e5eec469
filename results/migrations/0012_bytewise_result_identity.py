"""TestResult's host, context and test_name compare bytewise (core.fields.BytewiseCharField):
PostgreSQL's "C" collation; SQLite's table is left alone (it compares bytes already)."""

from django.db import migrations

from core.fields import BytewiseCharField
from core.migration_ops import alter_to_bytewise


class Migration(migrations.Migration):
    dependencies = [
        ("results", "0011_search_index_job"),
    ]

    operations = [
        alter_to_bytewise(
            "testresult",
            "results_testresult",
            {
                "host": BytewiseCharField(max_length=200, blank=True),
                "context": BytewiseCharField(max_length=200, blank=True),
                "test_name": BytewiseCharField(max_length=1000),
            },
        )
    ]
