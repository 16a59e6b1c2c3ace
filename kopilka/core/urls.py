from django.urls import path

from kopilka.core import views

app_name = "core"

urlpatterns = [
    path("", views.index, name="index"),
    path("cabinet/", views.home, name="home"),
    path("history/admin/", views.audit_log, name="audit_log"),
    path("healthz", views.health, name="health"),
]
