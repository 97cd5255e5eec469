from django.db import migrations, models


class Migration(migrations.Migration):
    """Adds a column with a default: no rewrite since PostgreSQL 11, a brief exclusive lock."""

    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("order", "note", models.TextField(blank=True, default="")),
    ]
