from django.apps import AppConfig


class CashierConfig(AppConfig):
    name = "kopilka.cashier"
    label = "cashier"
    verbose_name = "Web cashier"
