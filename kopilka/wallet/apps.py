from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "kopilka.wallet"
    label = "wallet"
    verbose_name = "Wallet"
