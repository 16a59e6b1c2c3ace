"""Mounted at /api/v1/ by kopilka/urls.py."""

from kopilka.pos.api import api, marked_urls

app_name = "api"
urlpatterns = marked_urls(api)
