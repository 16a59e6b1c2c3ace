from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "kopilka.customers"
    label = "customers"
