from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "kopilka.messaging"
    label = "messaging"
    verbose_name = "Messaging"
