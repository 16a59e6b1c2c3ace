from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kopilka.core"
    label = "core"

    def ready(self) -> None:
        from django.urls import register_converter

        from kopilka.core.converters import IdConverter

        register_converter(IdConverter, "id")
