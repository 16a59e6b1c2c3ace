from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "kopilka.enrollment"
    label = "enrollment"
    default_auto_field = "django.db.models.BigAutoField"
