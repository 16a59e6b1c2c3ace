from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "kopilka.loyalty"
    label = "loyalty"
