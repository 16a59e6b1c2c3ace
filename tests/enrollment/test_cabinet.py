"""Cabinet pages of enrollment: UTM counters (D9), blacklist (D7), deleted cards and restore (D11), share (D6)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kopilka.cards.models import Card
from kopilka.core.models import AuditEntry, OutboxEvent
from kopilka.enrollment import selectors, services
from kopilka.enrollment.models import BlacklistEntry, CardLink, PageDesign, UtmLink
from kopilka.loyalty.services import issue_card
from kopilka.messaging.models import SmsMessage
from tests.enrollment.conftest import last_code

pytestmark = pytest.mark.django_db
PHONE = "+79991234567"


def _row(business, link):  # type: ignore[no-untyped-def]
    return next(r for r in selectors.utm_rows(business) if r.link.pk == link.pk)


def test_utm_link_counts_visits_and_registrations(owner_client, business, template, register, journey) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post("/utm/", {"template": template.pk, "name": "Инстаграм", "source": "instagram",
                                          "medium": "social", "campaign": "spring"})  # fmt: skip
    assert response.status_code == 302
    link = UtmLink.objects.get()

    client, sent = register(query="?utm_source=instagram&utm_medium=social&utm_campaign=spring")
    client.get(f"/j/{journey.token}/?utm_source=instagram&utm_medium=social&utm_campaign=spring")  # same visitor again
    client.post(sent["Location"], {"code": last_code(PHONE)})

    row = _row(business, link)
    assert (row.visits, row.registrations, row.installs, row.first_purchases) == (1, 1, 0, 0)
    card = Card.objects.get()
    assert card.origin.utm_link == link
    assert card.customer.utm_source == "instagram"


def test_short_utm_link_redirects_and_counts(client, business, template, journey) -> None:  # type: ignore[no-untyped-def]
    link = UtmLink.objects.create(business=business, template=template, name="VK", source="vk")

    response = client.get(f"/u/{link.token}/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[0][0] == f"/j/{journey.token}/?utm={link.token}"
    assert _row(business, link).visits == 1


def test_installs_and_first_purchases_are_counted(business, template) -> None:  # type: ignore[no-untyped-def]
    link = UtmLink.objects.create(business=business, template=template, name="VK", source="vk")
    card = issue_card(business=business, template=template, phone=PHONE)
    from kopilka.enrollment.models import CardOrigin

    CardOrigin.objects.create(business=business, card=card, utm_link=link)
    OutboxEvent.objects.create(business=business, name="card.installed", payload={"card_id": card.pk})
    Card.objects.filter(pk=card.pk).update(purchase_count=1)

    row = _row(business, link)

    assert (row.registrations, row.installs, row.first_purchases) == (1, 1, 1)


def test_utm_qr_codes_download(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    link = UtmLink.objects.create(business=business, template=template, name="VK", source="vk")

    png = owner_client.get(f"/utm/{link.pk}/qr.png")
    svg = owner_client.get(f"/utm/{link.pk}/qr.svg")

    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    assert svg.status_code == 200
    assert b"<svg" in svg.content
    assert "attachment" in png["Content-Disposition"]


def test_utm_page_shows_counters(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    link = UtmLink.objects.create(business=business, template=template, name="Листовки", source="offline", visits=7)

    body = owner_client.get("/utm/").content.decode()

    assert "Листовки" in body
    assert f"/u/{link.token}/" in body
    assert ">7<" in body


def test_blacklist_page_adds_and_removes(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post("/clients/blacklist/", {"phone": "8 999 123 45 67", "template": template.pk})
    assert response.status_code == 302
    entry = BlacklistEntry.objects.get()
    assert (entry.phone, entry.template) == (PHONE, template)
    assert AuditEntry.objects.filter(action="blacklist.added").exists()

    owner_client.post(f"/clients/blacklist/{entry.pk}/delete/")

    assert BlacklistEntry.objects.count() == 0


def test_deleted_card_is_listed_and_restored_with_number_and_balance(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)
    number, balance = card.number, card.balance
    assert balance == Decimal("100.00")

    owner_client.post(f"/clients/cards/{card.pk}/delete/", {"reason": "клиент попросил"})
    card.refresh_from_db()
    assert card.status == Card.Status.DELETED
    assert card.deleted_at is not None
    assert number in owner_client.get("/clients/deleted/").content.decode()

    response = owner_client.post(f"/clients/cards/{card.pk}/restore/")

    card.refresh_from_db()
    assert response.status_code == 302
    assert (card.status, card.number, card.balance, card.deleted_at) == (Card.Status.ACTIVE, number, balance, None)
    assert list(AuditEntry.objects.filter(object_type="card", object_id=str(card.pk)).values_list("action", flat=True)) == [
        "card.restored", "card.deleted",
    ]  # fmt: skip


def test_restore_is_refused_when_the_customer_has_a_new_card(business, template) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)
    services.delete_card(business=business, card=card, actor=None)
    issue_card(business=business, template=template, phone=PHONE)

    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.restore_card(business=business, card=card, actor=None)


def test_deleted_card_page_says_so(client, business, template) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)
    token = selectors.card_link_of(card).token
    services.delete_card(business=business, card=card, actor=None)

    assert client.get(f"/c/{token}/").status_code == 410


def test_share_sends_the_card_link_by_sms(owner_client, business, template, client) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)

    response = owner_client.post(f"/clients/cards/{card.pk}/share/")

    assert response.status_code == 302
    sms = SmsMessage.objects.get(purpose="card_restore")
    link = CardLink.objects.get(card=card)
    assert sms.phone == PHONE
    assert f"http://testserver/c/{link.token}/" in sms.text
    page = client.get(f"/c/{link.token}/")
    assert page.status_code == 200
    assert card.number in page.content.decode()


def test_template_link_page_and_qr(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    design = PageDesign.objects.create(business=business, kind="verification", name="Фирменный")

    page = owner_client.get(f"/forms/links/{template.pk}/")
    saved = owner_client.post(f"/forms/links/{template.pk}/", {"show_apple": "on", "verification_design": design.pk})

    assert page.status_code == 200
    assert selectors.journey_of(template).token in page.content.decode()
    assert saved.status_code == 302
    journey = selectors.journey_of(template)
    assert (journey.show_apple, journey.show_google, journey.verification_design) == (True, False, design)
    assert owner_client.get(f"/forms/links/{template.pk}/qr.svg").status_code == 200


def test_design_pages_save_colours_and_refuse_unknown_variables(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    ok = owner_client.post("/forms/verification/new/", {
        "name": "Фирменный", "background_color": "#112233", "accent_color": "#ff0000", "text_color": "#000000",
        "title": "Код для {{business_name}}",
    })  # fmt: skip
    bad = owner_client.post("/forms/reviews/new/", {
        "name": "Отзывы", "background_color": "#112233", "accent_color": "#ff0000", "text_color": "#000000",
        "text": "Спасибо, {{nobody}}",
    })  # fmt: skip

    assert ok.status_code == 302
    assert bad.status_code == 422
    assert list(PageDesign.objects.values_list("kind", "background_color")) == [("verification", "#112233")]


def test_me_page_logs_in_by_phone_and_code(client, business, template) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)

    sent = client.post("/me/", {"phone": PHONE})
    assert sent.status_code == 302
    done = client.post("/me/code/", {"code": last_code(PHONE)})
    page = client.get("/me/")

    assert done.status_code == 302
    assert card.number in page.content.decode()
    assert business.name in page.content.decode()


def test_me_page_does_not_tell_who_is_a_customer(client, db) -> None:  # type: ignore[no-untyped-def]
    sent = client.post("/me/", {"phone": "+79995554433"})
    wrong = client.post("/me/code/", {"code": "1234"})

    assert sent.status_code == 302
    assert sent["Location"] == "/me/code/"
    assert wrong.status_code == 422
    assert SmsMessage.objects.count() == 0


def test_cashier_cannot_open_forms_pages(business, make_member) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import client_for

    cashier = client_for(make_member(business, "cashier").user)

    assert cashier.get("/forms/").status_code == 403
    assert cashier.get("/variables/").status_code == 403
    assert cashier.post("/clients/blacklist/", {"phone": PHONE}).status_code == 403


def test_client_page_has_share_and_delete_buttons(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    card = issue_card(business=business, template=template, phone=PHONE)

    body = owner_client.get(f"/clients/{card.customer_id}/").content.decode()

    assert f"/clients/cards/{card.pk}/share/" in body
    assert f"/clients/cards/{card.pk}/delete/" in body
