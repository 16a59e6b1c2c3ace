"""Invitations (A3): e-mail a link with a role; the link works once, expires and can be withdrawn."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from kopilka.accounts.models import Invitation, Membership, PointOfSale, Role, User
from kopilka.core.models import AuditEntry
from kopilka.core.tenancy import SESSION_KEY
from tests.conftest import PASSWORD, client_for, owner_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Invite through the cabinet; the e-mail is sent on commit, so run the on-commit callbacks."""

    def send(owner_client, business, email="new.barista@example.com", role_code="cashier"):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return _invite(owner_client, business, email, role_code)

    return send


def _invite(owner_client, business, email, role_code):  # type: ignore[no-untyped-def]
    role = Role.objects.get(business=business, code=role_code)
    pos = PointOfSale.objects.get(business=business)
    response = owner_client.post(reverse("accounts:invite"), {"email": email, "role": role.pk, "point_of_sale": pos.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:members")
    return role, pos


def _link_from_outbox() -> str:
    match = re.search(r"http://testserver(/invite/[^/\s]+/)", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def _state() -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
    return (
        list(Membership.objects.order_by("pk").values_list("pk", "business", "user", "role", "is_active")),
        list(Invitation.objects.order_by("pk").values_list("pk", "accepted_at", "revoked_at", "accepted_by")),
    )


def test_new_person_registers_through_the_link_and_gets_role_and_point_of_sale(business, owner_client, client, invite):  # type: ignore[no-untyped-def]
    role, pos = invite(owner_client, business)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.barista@example.com"]
    assert business.name in mail.outbox[0].subject
    link = _link_from_outbox()
    assert client.get(link).status_code == 200
    response = client.post(
        link,
        {"first_name": "Пётр", "last_name": "Бариста", "phone": "+7 999 000-11-22",
         "password1": "Barista-pass-2026", "password2": "Barista-pass-2026"},
    )  # fmt: skip

    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    user = User.objects.get(email="new.barista@example.com")
    assert user.check_password("Barista-pass-2026")
    assert user.phone == "+79990001122"
    membership = Membership.objects.get(business=business, user=user)
    assert (membership.role, membership.point_of_sale, membership.is_owner) == (role, pos, False)
    invitation = Invitation.objects.get()
    assert invitation.status == "accepted"
    assert invitation.accepted_by == user
    assert client.get(reverse("core:home")).status_code == 200
    assert list(
        AuditEntry.objects.filter(business=business, action__startswith="invitation").values_list("action", flat=True)
    ) == ["invitation.accepted", "invitation.sent"]


def test_existing_user_logs_in_and_accepts(business, owner_client, other_business, client, invite):  # type: ignore[no-untyped-def]
    existing = owner_of(other_business)
    role, pos = invite(owner_client, business, email=existing.email.upper(), role_code="marketer")
    link = _link_from_outbox()

    page = client.get(link)
    assert page.status_code == 200
    assert page.context["login_url"] == f"{reverse('accounts:login')}?next={link}"
    login = client.post(page.context["login_url"], {"username": existing.email, "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == link
    assert client.get(link).context["wrong_user"] is False
    response = client.post(link)

    assert response["Location"] == reverse("core:home")
    membership = Membership.objects.get(business=business, user=existing)
    assert (membership.role, membership.point_of_sale) == (role, pos)
    assert Membership.objects.get(business=other_business, user=existing).is_owner
    assert client.session[SESSION_KEY] == business.pk


def test_link_works_once(business, owner_client, client, invite):  # type: ignore[no-untyped-def]
    invite(owner_client, business)
    link = _link_from_outbox()
    data = {"first_name": "A", "password1": "Barista-pass-2026", "password2": "Barista-pass-2026"}
    client.post(link, data)
    client.post(reverse("accounts:logout"))
    before = _state()

    response = client.get(link)
    again = client.post(link, data)

    assert response.status_code == 410
    assert response.context["problem"] == "This invitation has already been used."
    assert again.status_code == 410
    assert _state() == before


def test_expired_link_is_refused(business, owner_client, client, time_machine, invite):  # type: ignore[no-untyped-def]
    time_machine.move_to("2026-03-01 10:00:00+00:00", tick=False)
    invite(owner_client, business)
    link = _link_from_outbox()
    time_machine.move_to("2026-03-08 10:00:01+00:00", tick=False)
    before = _state()

    response = client.post(
        link, {"first_name": "A", "password1": "Barista-pass-2026", "password2": "Barista-pass-2026"}
    )

    assert response.status_code == 410
    assert response.context["problem"] == "This invitation has expired. Ask for a new one."
    assert not User.objects.filter(email="new.barista@example.com").exists()
    assert _state() == before


def test_link_is_valid_until_it_expires(business, owner_client, client, time_machine, invite):  # type: ignore[no-untyped-def]
    time_machine.move_to("2026-03-01 10:00:00+00:00", tick=False)
    invite(owner_client, business)
    link = _link_from_outbox()
    time_machine.move_to("2026-03-08 09:59:59+00:00", tick=False)

    assert client.get(link).status_code == 200


def test_revoked_link_is_refused(business, owner_client, client, invite):  # type: ignore[no-untyped-def]
    invite(owner_client, business)
    link = _link_from_outbox()
    invitation = Invitation.objects.get()
    response = owner_client.post(reverse("accounts:invitation_revoke", kwargs={"invitation_id": invitation.pk}))
    assert response.status_code == 302
    assert Invitation.objects.get().status == "revoked"
    assert AuditEntry.objects.filter(action="invitation.revoked", object_id=str(invitation.pk)).count() == 1
    before = _state()

    response = client.post(
        link, {"first_name": "A", "password1": "Barista-pass-2026", "password2": "Barista-pass-2026"}
    )

    assert response.status_code == 410
    assert response.context["problem"] == "This invitation has been withdrawn. Ask for a new one."
    assert not User.objects.filter(email="new.barista@example.com").exists()
    assert _state() == before


def test_unknown_link_is_refused(client, db):  # type: ignore[no-untyped-def]
    response = client.get(reverse("accounts:invitation", kwargs={"token": "no-such-token"}))

    assert response.status_code == 404
    assert response.context["problem"] == "This invitation link is not valid."


def test_logged_in_user_with_another_email_cannot_accept(business, owner_client, other_business, invite):  # type: ignore[no-untyped-def]
    invite(owner_client, business)
    link = _link_from_outbox()
    stranger = client_for(owner_of(other_business))
    before = _state()

    page = stranger.get(link)
    response = stranger.post(link, follow=True)

    assert page.context["wrong_user"] is True
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["This invitation was sent to new.barista@example.com. Log in with that e-mail to accept it."]
    assert _state() == before
    assert Invitation.objects.get().status == "pending"


def test_a_new_invitation_replaces_the_pending_one(business, owner_client, client, invite):  # type: ignore[no-untyped-def]
    invite(owner_client, business)
    first = _link_from_outbox()
    invite(owner_client, business, role_code="manager")
    second = _link_from_outbox()

    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    assert Invitation.objects.filter(revoked_at__isnull=True).count() == 1


def test_an_existing_member_cannot_be_invited(business, owner_client, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "cashier")
    role = Role.objects.get(business=business, code="manager")

    response = owner_client.post(reverse("accounts:invite"), {"email": member.user.email, "role": role.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["This person is already a user of your business."]
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_person_in_two_businesses_switches(business, other_business, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "administrator")
    Membership.objects.create(
        business=other_business, user=member.user, role=Role.objects.get(business=other_business, code="cashier")
    )
    client = client_for(member.user)
    assert client.get(reverse("core:home")).context["business"] == business

    response = client.post(reverse("accounts:switch_business"), {"business": other_business.pk})

    assert response["Location"] == reverse("core:home")
    home = client.get(reverse("core:home"))
    assert home.context["business"] == other_business
    assert client.get(reverse("accounts:pos_list")).status_code == 403  # a cashier there
    member.user.refresh_from_db()
    assert member.user.last_business == other_business


def test_cannot_switch_into_a_business_one_does_not_belong_to(business, other_business, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "administrator")
    client = client_for(member.user)

    for value in (other_business.pk, "abc", "", "99999999999999999999999"):
        response = client.post(reverse("accounts:switch_business"), {"business": value}, follow=True)
        assert response.status_code == 200
        assert response.context["business"] == business
        assert [str(m) for m in response.context["messages"]] == ["You are not a user of this business."]
    member.user.refresh_from_db()
    assert member.user.last_business is None


def test_cannot_switch_into_a_business_where_access_is_disabled(business, other_business, make_member):  # type: ignore[no-untyped-def]
    member = make_member(business, "administrator")
    Membership.objects.create(
        business=other_business, user=member.user, is_active=False,
        role=Role.objects.get(business=other_business, code="administrator"),
    )  # fmt: skip
    client = client_for(member.user)

    client.post(reverse("accounts:switch_business"), {"business": other_business.pk})

    assert client.get(reverse("core:home")).context["business"] == business
