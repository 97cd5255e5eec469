from django.db import migrations, models


class Migration(migrations.Migration):
    """int to bigint: PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock."""

    dependencies = [("shop", "0003_backfill_notes")]
    operations = [
        migrations.AlterField("order", "quantity", models.BigIntegerField(default=1)),
    ]
