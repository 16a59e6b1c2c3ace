from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "kopilka.cards"
    label = "cards"
