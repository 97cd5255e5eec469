from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200)
    joined = models.DateField()

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.TextField(default="", blank=True)
    placed = models.DateTimeField()
    quantity = models.BigIntegerField(default=1)

    def __str__(self) -> str:
        return f"order {self.pk}"
