"""Reads of enrollment: tenant-scoped lookups (``access_*`` 404 across businesses), links, UTM counters."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from kopilka.accounts.models import Business
from kopilka.cards.models import Card, CardTemplate
from kopilka.core.links import absolute
from kopilka.core.models import OutboxEvent
from kopilka.enrollment.models import (
    BlacklistEntry,
    CardLink,
    PageDesign,
    RegistrationForm,
    TemplateJourney,
    UtmLink,
    Variable,
)

INSTALLED_EVENT = "card.installed"
logger = logging.getLogger("kopilka.enrollment")


# --- tenant-scoped lookups ------------------------------------------------------------------------


def variables(business: Business) -> QuerySet[Variable]:
    return Variable.objects.for_business(business).order_by("key")


def access_variable(*, business: Business, variable_id: int) -> Variable:
    return get_object_or_404(Variable, business=business, pk=variable_id)


def registration_forms(business: Business) -> QuerySet[RegistrationForm]:
    return RegistrationForm.objects.for_business(business).select_related("template").order_by("id")


def access_registration_form(*, business: Business, form_id: int) -> RegistrationForm:
    return get_object_or_404(RegistrationForm, business=business, pk=form_id)


def designs(business: Business, kind: str) -> QuerySet[PageDesign]:
    return PageDesign.objects.for_business(business).filter(kind=kind).order_by("id")


def access_design(*, business: Business, kind: str, design_id: int) -> PageDesign:
    return get_object_or_404(PageDesign, business=business, kind=kind, pk=design_id)


def templates(business: Business) -> QuerySet[CardTemplate]:
    return CardTemplate.objects.for_business(business).order_by("id")


def access_template(*, business: Business, template_id: int) -> CardTemplate:
    return get_object_or_404(CardTemplate, business=business, pk=template_id)


def blacklist(business: Business) -> QuerySet[BlacklistEntry]:
    return BlacklistEntry.objects.for_business(business).select_related("template")


def access_blacklist_entry(*, business: Business, entry_id: int) -> BlacklistEntry:
    return get_object_or_404(BlacklistEntry, business=business, pk=entry_id)


def deleted_cards(business: Business) -> QuerySet[Card]:
    return (
        Card.objects.for_business(business).filter(status=Card.Status.DELETED)
        .select_related("customer", "template", "level").order_by("-deleted_at", "-id")
    )  # fmt: skip


def access_card(*, business: Business, card_id: int) -> Card:
    return get_object_or_404(Card.objects.select_related("customer", "template"), business=business, pk=card_id)


def utm_links(business: Business) -> QuerySet[UtmLink]:
    return UtmLink.objects.for_business(business).select_related("template")


def access_utm_link(*, business: Business, link_id: int) -> UtmLink:
    return get_object_or_404(UtmLink.objects.select_related("template"), business=business, pk=link_id)


def is_blacklisted(*, business: Business, template: CardTemplate, phone: str) -> bool:
    return BlacklistEntry.objects.filter(
        Q(template=template) | Q(template__isnull=True), business=business, phone=phone
    ).exists()


# --- links ------------------------------------------------------------------------------------------


def journey_of(template: CardTemplate) -> TemplateJourney:
    journey, _created = TemplateJourney.objects.get_or_create(
        template=template, defaults={"business_id": template.business_id}
    )
    return journey


def journey_settings(template: CardTemplate) -> TemplateJourney:
    """The template's journey settings without writing (an unsaved default when there are none yet)."""
    found = TemplateJourney.objects.filter(template=template).select_related("verification_design").first()
    return found or TemplateJourney(template=template, business_id=template.business_id)


def journey_url(template: CardTemplate) -> str:
    return absolute(reverse("enrollment:journey", kwargs={"template_token": journey_of(template).token}))


def utm_url(link: UtmLink) -> str:
    return absolute(reverse("enrollment:utm_entry", kwargs={"utm_token": link.token}))


def card_link_of(card: Card) -> CardLink:
    link, _created = CardLink.objects.get_or_create(card=card, defaults={"business_id": card.business_id})
    return link


def card_page_url(card: Card) -> str:
    return absolute(reverse("enrollment:card_page", kwargs={"card_token": card_link_of(card).token}))


def wallet_links(card: Card) -> dict[str, str]:
    """The wallet app's links (``apple_pass_url`` / ``google_save_url``) when it can build them, else nothing."""
    module: Any = None
    for name in ("kopilka.wallet.links", "kopilka.wallet.services"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "apple_pass_url") or hasattr(module, "google_save_url"):
            break
        module = None
    if module is None:
        return {}
    found: dict[str, str] = {}
    for key, name in (("apple", "apple_pass_url"), ("google", "google_save_url")):
        func = getattr(module, name, None)
        if func is None:
            continue
        try:
            url = func(card)
        except Exception:  # no usable certificate yet, etc.: the button is simply not shown
            logger.exception("wallet link %s of card %s", name, card.pk)
            url = None
        if url:
            found[key] = str(url)
    return found


# --- UTM counters -----------------------------------------------------------------------------------


@dataclass
class UtmRow:
    link: UtmLink
    url: str
    visits: int
    registrations: int
    installs: int
    first_purchases: int


def utm_rows(business: Business) -> list[UtmRow]:
    links = list(
        utm_links(business).annotate(
            n_registrations=Count("origins", distinct=True),
            n_purchasing=Count("origins", filter=Q(origins__card__purchase_count__gt=0), distinct=True),
        )
    )
    card_ids: dict[int, set[int]] = {}
    for link_id, card_id in (
        Card.objects.for_business(business).filter(origin__utm_link__in=links).values_list("origin__utm_link", "id")
    ):
        card_ids.setdefault(link_id, set()).add(card_id)
    installed = _installed_card_ids(business, {c for ids in card_ids.values() for c in ids})
    rows = []
    for link in links:
        any_link: Any = link
        rows.append(
            UtmRow(
                link=link, url=utm_url(link), visits=link.visits, registrations=any_link.n_registrations,
                installs=len(card_ids.get(link.pk, set()) & installed), first_purchases=any_link.n_purchasing,
            )
        )  # fmt: skip
    return rows


def _installed_card_ids(business: Business, card_ids: set[int]) -> set[int]:
    """Cards with a ``card.installed`` event (emitted by the wallet when a device registers)."""
    if not card_ids:
        return set()
    found: set[int] = set()
    for payload in (
        OutboxEvent.objects.for_business(business).filter(name=INSTALLED_EVENT).values_list("payload", flat=True)
    ):
        card = payload.get("card") if isinstance(payload, dict) else None
        card_id = (
            card.get("id")
            if isinstance(card, dict)
            else (payload.get("card_id") if isinstance(payload, dict) else None)
        )
        if isinstance(card_id, int) and card_id in card_ids:
            found.add(card_id)
    return found
