from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kopilka.accounts"
    label = "accounts"
