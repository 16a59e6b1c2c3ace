"""Tenancy (ARCHITECTURE.md): one business reaches nothing of another's through any URL.

The test walks every URL pattern of the project, so pages added later are covered without editing
it: a URL keyword argument this file does not know makes the test fail and asks for a mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from kopilka.accounts import services
from kopilka.accounts.models import Business, Invitation, Membership, PointOfSale, Role, User
from kopilka.core.access import access_of
from kopilka.core.models import OutboxEvent
from kopilka.core.permissions import SECTIONS
from kopilka.core.tenancy import SESSION_KEY
from kopilka.integrations import services as webhook_services
from kopilka.integrations.models import WebhookDelivery, WebhookEndpoint
from kopilka.pos import services as pos_services
from kopilka.pos.models import PERMISSIONS, ApiKey
from kopilka.wallet import services as wallet_services
from tests.cashier.objects import purchase_of
from tests.conftest import client_for, owner_of
from tests.core.enrollment_objects import enrollment_of
from tests.core.loyalty_objects import loyalty_of
from tests.core.url_walk import Route, walk

pytestmark = pytest.mark.django_db


@dataclass
class Victim:
    """Business A and the things of it another business must not reach."""

    business: Business
    pos: PointOfSale
    role: Role
    member: Membership
    invitation: Invitation
    invitation_token: str

    def distinctive_strings(self) -> list[str]:
        return [self.business.name, self.pos.name, self.pos.code, self.member.user.email, self.role.name]


# Keyword arguments of URLs → the object of business A that fills them.
# "object": the URL names an object of the current business; another business's gets 403/404.
# "token": the URL carries a secret (links in e-mails); holding it is the permission, so the checks
#          are: no 5xx, nothing of A changes, nothing of A leaks (see TOKEN_URL_MAY_SHOW).
OBJECT_KWARGS: dict[str, Callable[[Victim], Any]] = {
    "pos_id": lambda a: a.pos.pk,
    "role_id": lambda a: a.role.pk,
    "member_id": lambda a: a.member.pk,
    "invitation_id": lambda a: a.invitation.pk,
    "mechanic_id": lambda a: loyalty_of(a).mechanic.pk,
    "template_id": lambda a: loyalty_of(a).template.pk,
    "group_id": lambda a: loyalty_of(a).group.pk,
    "customer_id": lambda a: loyalty_of(a).customer.pk,
    "card_id": lambda a: loyalty_of(a).card.pk,
    "key_id": lambda a: ApiKey.objects.get(business=a.business).pk,
    "variable_id": lambda a: enrollment_of(a).variable.pk,
    "form_id": lambda a: enrollment_of(a).form.pk,
    "design_id": lambda a: enrollment_of(a).design.pk,
    "link_id": lambda a: enrollment_of(a).link.pk,
    "entry_id": lambda a: enrollment_of(a).entry.pk,
    "purchase_id": lambda a: purchase_of(a).pk,
    "endpoint_id": lambda a: WebhookEndpoint.objects.get(business=a.business).pk,
    "delivery_id": lambda a: WebhookDelivery.objects.get(business=a.business).pk,
    "card_number": lambda a: loyalty_of(a).card.number,  # POS API: A's card number with B's API key
}
# Where one kwarg name means another thing on some routes (the API names purchases by public id).
ROUTE_KWARGS: dict[str, dict[str, Callable[[Victim], Any]]] = {
    "api:purchase": {"purchase_id": lambda a: purchase_of(a).public_id},
    "api:refunds": {"purchase_id": lambda a: purchase_of(a).public_id},
}
TOKEN_KWARGS: dict[str, Callable[[Victim], Any]] = {
    "token": lambda a: a.invitation_token,  # for password_reset_confirm: a wrong token for A's member
    "uidb64": lambda a: urlsafe_base64_encode(force_bytes(a.member.user.pk)),
    # Enrollment: A's public registration link, UTM link and card page (holding the token is the permission).
    "template_token": lambda a: enrollment_of(a).journey.token,
    "utm_token": lambda a: enrollment_of(a).link.token,
    "card_token": lambda a: enrollment_of(a).card_link.token,
    # Apple's pass web service: the serial and download token of A's card; a device id is the caller's own.
    "device_id": lambda a: "alphasecretdevice0001",
    "pass_type_id": lambda a: "pass.test.alphasecret",
    "serial_number": lambda a: wallet_services.ensure_pass_state(loyalty_of(a).card).serial_number,
    "pass_token": lambda a: wallet_services.ensure_pass_state(loyalty_of(a).card).download_token,
}

# URL name → why it cannot be exercised here (none yet).
# URL name → why it cannot be exercised here (none: the POS API is walked with B's API key).
UNEXERCISABLE: dict[str, str] = {}

# The invitation page greets the holder of A's link with A's name; nothing else of A may show.
TOKEN_URL_MAY_SHOW = {
    "accounts:invitation": {"business_name"},
    "enrollment:journey": {"business_name"},  # the registration form shows whose card it is
    "enrollment:journey_code": {"business_name"},
    "enrollment:card_page": {"business_name"},
}


def _plausible_post(a: Victim) -> dict[str, Any]:
    """Form fields of our pages, filled with A's ids and A's people where a form takes them."""
    data: dict[str, Any] = {
        "name": "Intruder", "code": "intruder", "address": "Somewhere", "latitude": "10", "longitude": "10",
        "time_zone": "Europe/Moscow", "is_active": "on", "email": "someone.else@example.com",
        "role": a.role.pk, "point_of_sale": a.pos.pk, "business": a.business.pk,
        "username": a.member.user.email, "password": "wrong-password",
        "old_password": "wrong-password", "new_password1": "Fresh-pass-98765", "new_password2": "Fresh-pass-98765",
        "password1": "Fresh-pass-98765", "password2": "Fresh-pass-98765",
        "first_name": "Eve", "last_name": "Intruder", "phone": "+79991234567", "company_name": "Evil",
        "legal_entity": "Evil LLC", "accept_terms": "on", "language": "en", "next": "/", "action": "",
    }  # fmt: skip
    data.update({f"perm_{section}": "edit" for section in SECTIONS})
    return data


def _fingerprint(business: Business) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model with a ``business`` field that belongs to the business, plus its people."""
    prints: dict[str, list[tuple[Any, ...]]] = {}
    for model in apps.get_models():
        field = next((f for f in model._meta.get_fields() if f.name == "business"), None)
        if field is None or getattr(field, "related_model", None) is not Business:
            continue
        rows = model._base_manager.filter(business=business).order_by("pk").values()
        prints[model._meta.label] = [tuple(sorted(row.items())) for row in rows]
    prints["accounts.Business"] = [tuple(sorted(Business.objects.filter(pk=business.pk).values().get().items()))]
    people = User.objects.filter(memberships__business=business).order_by("pk").values()
    prints["accounts.User"] = [tuple(sorted(row.items())) for row in people]
    return prints


@pytest.fixture
def victim(make_business, make_member) -> Victim:  # type: ignore[no-untyped-def]
    business = make_business("Alphasecret Cafe", "alpha-owner@alphasecret.test")
    owner = owner_of(business)
    pos = services.save_point_of_sale(
        business=business, actor=owner,
        data={"code": "alphasecret-till", "name": "Alphasecret Hidden Till", "time_zone": "Europe/Moscow",
              "is_active": True},
    )  # fmt: skip
    role = services.save_role(
        business=business, name="Alphasecret Barista Lead", permissions={"cashier": "edit"}, actor=owner
    )
    member = make_member(business, role=role, email="alpha.member@alphasecret.test")
    member.point_of_sale = pos
    member.save()
    issued = services.invite_member(
        business=business,
        email="alpha.invitee@alphasecret.test",
        role=Role.objects.get(business=business, code="cashier"),
        point_of_sale=pos,
        actor=owner,
    )
    token = issued.link.rstrip("/").rsplit("/", 1)[-1]
    pos_services.create_api_key(business=business, name="Alphasecret till key", point_of_sale=pos, actor=owner)
    endpoint = webhook_services.create_webhook_endpoint(
        business=business, url="https://alphasecret.test/hook", events=["*"], actor=owner
    )
    event = OutboxEvent.objects.create(business=business, name="points.changed", payload={})
    WebhookDelivery.objects.create(business=business, endpoint=endpoint, event=event, event_type=event.name)
    return Victim(business, pos, role, member, issued.invitation, token)


@pytest.fixture
def intruder(other_business) -> User:  # type: ignore[no-untyped-def]
    user = owner_of(other_business)
    assert Membership.objects.get(user=user).is_owner
    return user


def _url(route: Route, a: Victim) -> str:
    kwargs = {}
    for name in route.kwargs:
        fill = ROUTE_KWARGS.get(route.name, {}).get(name) or OBJECT_KWARGS.get(name) or TOKEN_KWARGS[name]
        kwargs[name] = fill(a)
    if route.name == "accounts:password_reset_confirm":
        kwargs["token"] = "bad-0123456789abcdef"  # a wrong reset token
    return reverse(route.name, kwargs=kwargs)


def _exercisable_routes() -> list[Route]:
    return [route for route in walk() if route.name not in UNEXERCISABLE]


def test_every_url_kwarg_has_a_mapping() -> None:
    known = set(OBJECT_KWARGS) | set(TOKEN_KWARGS)
    problems = []
    for route in _exercisable_routes():
        if route.name.startswith("<unnamed"):
            problems.append(f"{route.route}: give the URL pattern a name")
        missing = [k for k in route.kwargs if k not in known]
        if missing:
            problems.append(
                f"{route.name} ({route.route}): add {missing} to OBJECT_KWARGS/TOKEN_KWARGS in "
                f"tests/core/test_tenant_isolation.py (mapping to an object of business A), "
                f"or list the URL in UNEXERCISABLE with a reason"
            )
    assert problems == []


@pytest.fixture
def intruder_api_key(other_business) -> str:  # type: ignore[no-untyped-def]
    """B's POS API key with every permission: the API is walked as business B too."""
    return pos_services.create_api_key(
        business=other_business, name="Intruder till", permissions=list(PERMISSIONS), actor=None
    ).key


def _plausible_json(a: Victim) -> dict[str, Any]:
    """A POS API body naming A's card (and A's point of sale) wherever an endpoint takes one."""
    card = loyalty_of(a).card
    return {
        "card": card.number, "phone": card.customer.phone, "amount": "100.00", "redeem_points": "max",
        "receipt_id": "intruder-1", "point_of_sale": a.pos.code, "reason": "intruder", "code": "1234",
        "name": "visit", "template": loyalty_of(a).template.pk,
    }  # fmt: skip


# POS API routes that name an object take exactly these bodies (unknown fields are a 422 before any lookup).
API_BODIES: dict[str, dict[str, Any]] = {
    "api:refunds": {"amount": "10.00"},
    "api:points": {"amount": "-5.00", "reason": "intruder"},
    "api:verify": {"code": "1234"},
}


def test_another_business_reaches_nothing_through_any_url(victim, intruder, intruder_api_key) -> None:  # type: ignore[no-untyped-def]
    # URLs first: a mapping may create the object of A it names, before the fingerprint is taken.
    urls = [
        (route, _url(route, victim))
        for route in _exercisable_routes()
        if not route.name.startswith("<unnamed")
        and all(k in OBJECT_KWARGS or k in TOKEN_KWARGS for k in route.kwargs)  # else reported by the test above
    ]
    before = _fingerprint(victim.business)
    checked = 0
    failures: list[str] = []
    for route, url in urls:
        names_object = any(k in OBJECT_KWARGS for k in route.kwargs)
        for method in ("get", "post"):
            client = client_for(intruder)
            client.raise_request_exception = False
            client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {intruder_api_key}"
            if method == "get":
                response = client.get(url)
            elif route.name.startswith("api:"):
                body = API_BODIES.get(route.name) or _plausible_json(victim)
                response = client.post(url, body, content_type="application/json")
            else:
                response = client.post(url, _plausible_post(victim))
            checked += 1
            where = f"{method.upper()} {url} ({route.name}) → {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{where}: server error")
                continue
            # 405: the page does not take this method at all, answered before any lookup.
            if names_object and response.status_code not in {403, 404, 405}:
                failures.append(f"{where}: expected 403/404 for an object of another business")
            content = b"".join(response.streaming_content) if response.streaming else response.content
            body = content.decode(errors="replace")
            may_show = TOKEN_URL_MAY_SHOW.get(route.name, set())
            leaks = [
                s for s in victim.distinctive_strings()
                if s in body and not (s == victim.business.name and "business_name" in may_show)
            ]  # fmt: skip
            if leaks:
                failures.append(f"{where}: shows {leaks} of business A")
            if _fingerprint(victim.business) != before:
                failures.append(f"{where}: changed data of business A")
                before = _fingerprint(victim.business)
    assert failures == []
    assert checked >= 2 * 20
    assert not Membership.objects.filter(business=victim.business, user=intruder).exists()


def test_invitation_of_another_business_cannot_be_accepted_by_another_email(victim, intruder) -> None:  # type: ignore[no-untyped-def]
    before = _fingerprint(victim.business)
    client = client_for(intruder)
    url = reverse("accounts:invitation", kwargs={"token": victim.invitation_token})

    page = client.get(url)
    response = client.post(url, follow=True)

    assert page.status_code == 200
    assert page.context["wrong_user"] is True
    assert "alpha.invitee@alphasecret.test" in " ".join(str(m) for m in response.context["messages"])
    assert not Membership.objects.filter(business=victim.business, user=intruder).exists()
    assert Invitation.objects.get(pk=victim.invitation.pk).status == "pending"
    assert _fingerprint(victim.business) == before


def test_session_pointing_at_another_business_falls_back_to_ones_own(victim, intruder, other_business) -> None:  # type: ignore[no-untyped-def]
    client = client_for(intruder)
    session = client.session
    session[SESSION_KEY] = victim.business.pk
    session.save()

    response = client.get(reverse("accounts:pos_list"))

    assert response.status_code == 200
    assert response.context["business"] == other_business
    assert victim.pos.name not in response.content.decode()
    assert client.session[SESSION_KEY] == other_business.pk


# --- No page without an access mark ---------------------------------------------------------

# Pages anyone may open, signed in or not. Adding a public page means adding it here, on purpose.
PUBLIC_PAGES = {
    "core:index",
    "core:health",
    "set_language",
    "accounts:login",
    "accounts:logout",
    "accounts:signup",
    "accounts:signup_verify",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:invitation",
    "api:openapi-json",  # the POS API's own documents; its routes need an API key ("api_key")
    "api:openapi-view",
    "api:api-root",
    "enrollment:journey",  # the customer journey: the template's unguessable token is the permission
    "enrollment:journey_code",
    "enrollment:journey_resend",
    "enrollment:utm_entry",
    "enrollment:card_page",  # the card's unguessable token is the permission
    "enrollment:me",  # the customer's page: phone + SMS code
    "enrollment:me_code",
    "enrollment:me_logout",
    "api:not_found",  # any other path under /api/v1/: a 404 problem document
    "wallet:registration",  # Apple's pass web service: the pass's authenticationToken is checked inside
    "wallet:serials",
    "wallet:latest_pass",
    "wallet:log",
    "wallet:pass_download",  # the unguessable token in the link is the permission
}


def test_every_view_carries_an_access_mark() -> None:
    unmarked = [f"{r.name} ({r.route})" for r in walk() if access_of(r.callback) is None]
    public = {r.name for r in walk() if access_of(r.callback) == "public"}
    marks = {access_of(r.callback) for r in walk()}

    assert unmarked == []
    assert public == PUBLIC_PAGES
    assert marks <= {"public", "owner", "member", "signed_in", "api_key"} | {f"section:{s}" for s in SECTIONS}


def test_guarded_pages_send_anonymous_visitors_to_login(client) -> None:  # type: ignore[no-untyped-def]
    for route in walk():
        if access_of(route.callback) == "public" or route.kwargs:
            continue
        response = client.get(reverse(route.name))
        if access_of(route.callback) == "api_key":  # the API answers 401 (or 405 for a wrong method), no login page
            assert response.status_code in {401, 405}, route.name
            continue
        assert response.status_code == 302, route.name
        assert response["Location"].startswith(reverse("accounts:login")), route.name
