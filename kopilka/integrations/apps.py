from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "kopilka.integrations"
    label = "integrations"
    verbose_name = "Integrations"
