from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kopilka.core"
    label = "core"
