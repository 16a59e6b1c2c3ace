from django.urls import include, path
from django.views.i18n import set_language

from kopilka.core.access import public

urlpatterns = [
    path("api/v1/", include("kopilka.pos.api_urls")),  # first: the tills' requests resolve in one step
    path("", include("kopilka.core.urls")),
    path("", include("kopilka.accounts.urls")),
    path("", include("kopilka.loyalty.urls")),
    path("", include("kopilka.pos.urls")),
    path("", include("kopilka.cashier.urls")),
    path("", include("kopilka.integrations.urls")),
    path("", include("kopilka.messaging.urls")),
    path("", include("kopilka.enrollment.urls")),
    path("", include("kopilka.wallet.urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
]

handler403 = "kopilka.core.errors.forbidden"
handler404 = "kopilka.core.errors.not_found"
handler500 = "kopilka.core.errors.server_error"
