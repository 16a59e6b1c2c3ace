from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kopilka.core import navigation
from kopilka.core.tenancy import active_memberships


def cabinet(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    return {
        "business": membership.business,
        "membership": membership,
        "nav_sidebar": navigation.visible(navigation.SIDEBAR, membership),
        "nav_settings": navigation.visible(navigation.SETTINGS, membership),
        "my_memberships": lambda: list(active_memberships(request.user)),
    }
