from django.urls import path

from kopilka.messaging import views

app_name = "messaging"

urlpatterns = [
    path("integrations/sms/", views.sms_outbox, name="sms_outbox"),
]
