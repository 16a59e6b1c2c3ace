"""Which business a signed-in person is working in, for this request.

The business lives in the session (a person may belong to several and switch between them); the
middleware checks it against the person's active memberships every time and puts both on the
request. There is no global "current tenant": code receives the business explicitly.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SESSION_KEY = "kopilka_business_id"


def active_memberships(user):  # type: ignore[no-untyped-def]
    from kopilka.accounts.models import Membership

    return (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("business", "role", "point_of_sale")
        .order_by("business__name", "id")
    )


class CurrentBusinessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.business = None  # type: ignore[attr-defined]
        request.membership = None  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = active_memberships(user)
            wanted = request.session.get(SESSION_KEY) or user.last_business_id
            membership = None
            if wanted:
                membership = memberships.filter(business_id=wanted).first()
            if membership is None:
                membership = memberships.first()
            if membership is not None:
                request.business = membership.business  # type: ignore[attr-defined]
                request.membership = membership  # type: ignore[attr-defined]
                if request.session.get(SESSION_KEY) != membership.business_id:
                    request.session[SESSION_KEY] = membership.business_id
        return self.get_response(request)
