from django.urls import path

from kopilka.pos import views

app_name = "pos"

urlpatterns = [
    path("integrations/api-keys/", views.api_keys, name="api_keys"),
    path("integrations/api-keys/<id:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
