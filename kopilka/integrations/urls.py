from django.urls import path

from kopilka.integrations import views

app_name = "integrations"

urlpatterns = [
    path("integrations/webhooks/", views.webhooks, name="webhooks"),
    path("integrations/webhooks/<id:endpoint_id>/", views.webhook_edit, name="webhook_edit"),
    path("integrations/deliveries/<id:delivery_id>/redeliver/", views.webhook_redeliver, name="webhook_redeliver"),
]
