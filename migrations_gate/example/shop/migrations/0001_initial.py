from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("email", models.CharField(max_length=200)),
                ("joined", models.DateField()),
            ],
        ),
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("customer", models.ForeignKey(on_delete=models.CASCADE, to="shop.customer")),
                ("total", models.DecimalField(decimal_places=2, max_digits=12)),
                ("placed", models.DateTimeField()),
                ("quantity", models.IntegerField(default=1)),
            ],
        ),
    ]
