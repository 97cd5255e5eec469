from django.db import migrations


def backfill(apps, schema_editor):
    """Row by row, as data migrations often are: slow on a large table."""
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all().iterator(chunk_size=500):
        order.note = f"order of {order.quantity}"
        order.save(update_fields=["note"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_note")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
