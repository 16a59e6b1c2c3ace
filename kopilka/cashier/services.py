"""Writes of the web cashier that the loyalty engine does not provide: issuing a card at the till
online (a 4-digit SMS code the customer reads out) or offline (an SMS with the registration link).

Purchases and refunds go straight to ``kopilka.loyalty.services``; nothing here touches balances.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import Business
from kopilka.cards.models import Card, CardTemplate
from kopilka.cashier.models import TillVerification
from kopilka.enrollment.selectors import journey_url
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.actors import actor_label
from kopilka.loyalty.errors import CardBlocked, LoyaltyError, ValidationFailed
from kopilka.messaging.services import send_sms

CODE_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
LOCK_TIME = timedelta(minutes=15)
ONLINE, OFFLINE = "online", "offline"


class TooManyAttempts(LoyaltyError):
    """Five wrong codes: verification of the card is locked for a while (the API's 429)."""

    code = "rate_limited"
    status = 429


@dataclass
class IssuedAtTill:
    card: Card
    mode: str
    verification: TillVerification | None = None


def _hash(card_id: int, code: str) -> str:
    key = f"kopilka.cashier.code:{settings.SECRET_KEY}".encode()
    return hmac.new(key, f"{card_id}:{code}".encode(), hashlib.sha256).hexdigest()


def registration_link(card: Card) -> str:
    """The template's public registration form (enrollment journey): the customer fills it in with the
    same phone, confirms it by a code there, and the issued card becomes active."""
    return journey_url(card.template)


def _locked_until(card: Card, now: datetime) -> datetime | None:
    last = TillVerification.objects.filter(card=card, locked_until__gt=now).order_by("-locked_until").first()
    return last.locked_until if last else None


def send_verification_code(*, business: Business, card: Card, actor: Any = None) -> TillVerification:
    """A new 4-digit code for an issued (not yet verified) card, by SMS to the customer's phone."""
    if card.business_id != business.pk:
        raise ValidationFailed(_("No such card."), field="card")
    if card.status != Card.Status.ISSUED:
        raise CardBlocked(_("The card does not wait for a code."), field="card")
    now = timezone.now()
    if _locked_until(card, now):
        raise TooManyAttempts(_("Too many wrong codes. Try again in 15 minutes."), field="code")
    code = f"{secrets.randbelow(10_000):04d}"
    with transaction.atomic():
        # Earlier codes stop working when a new one is sent.
        TillVerification.objects.filter(card=card, verified_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        verification = TillVerification.objects.create(
            business=business, card=card, phone=card.customer.phone, code_hash=_hash(card.pk, code),
            created_at=now, expires_at=now + CODE_LIFETIME, actor_label=actor_label(actor),
        )  # fmt: skip
    text = _("%(business)s: your card code is %(code)s. Tell it to the cashier.") % {
        "business": business.name,
        "code": code,
    }
    send_sms(business=business, phone=card.customer.phone, text=text, purpose="card_verification")
    return verification


def issue_card_at_till(
    *,
    business: Business,
    template: CardTemplate,
    phone: str,
    first_name: str = "",
    mode: str,
    actor: Any = None,
) -> IssuedAtTill:
    """Issue an unverified card; online: SMS a code to read out; offline: SMS the registration link."""
    if mode not in (ONLINE, OFFLINE):
        raise ValidationFailed(_("Choose online or offline."), field="mode")
    card = loyalty.issue_card(
        business=business, template=template, phone=phone, first_name=(first_name or "").strip()[:150],
        verified=False, actor=actor,
    )  # fmt: skip
    card = Card.objects.select_related("customer", "template").get(pk=card.pk)
    if mode == ONLINE:
        return IssuedAtTill(card=card, mode=mode, verification=send_verification_code(business=business, card=card,
                                                                                      actor=actor))  # fmt: skip
    text = _("%(business)s: finish your loyalty card registration: %(link)s") % {
        "business": business.name,
        "link": registration_link(card),
    }
    send_sms(business=business, phone=card.customer.phone, text=text, purpose="card_registration")
    return IssuedAtTill(card=card, mode=mode)


def check_verification_code(*, business: Business, card: Card, code: str, actor: Any = None) -> Card:
    """The customer read out the code: right → the card is active; wrong → counted (5 at most)."""
    code = (code or "").strip()
    if card.business_id != business.pk:
        raise ValidationFailed(_("No such card."), field="card")
    if card.status == Card.Status.ACTIVE:
        return card
    if not (len(code) == 4 and code.isdigit()):
        raise ValidationFailed(_("Enter the 4 digits from the SMS."), field="code")
    now = timezone.now()
    wrong: LoyaltyError
    with transaction.atomic():
        verification = (
            TillVerification.objects.select_for_update()
            .filter(card=card, verified_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if verification is not None and verification.locked_until and verification.locked_until > now:
            raise TooManyAttempts(_("Too many wrong codes. Try again in 15 minutes."), field="code")
        if verification is None or verification.expires_at <= now:
            raise ValidationFailed(_("The code has expired. Send a new one."), field="code")
        if hmac.compare_digest(verification.code_hash, _hash(card.pk, code)):
            verification.verified_at = now
            verification.save(update_fields=["verified_at"])
            return loyalty.verify_card(business=business, card=card, actor=actor)
        # A wrong code: the try is counted and must survive the error, so raise after the block.
        verification.attempts += 1
        if verification.attempts >= MAX_ATTEMPTS:
            verification.locked_until = now + LOCK_TIME
            verification.expires_at = now
        verification.save(update_fields=["attempts", "locked_until", "expires_at"])
        left = MAX_ATTEMPTS - verification.attempts
        if left <= 0:
            wrong = TooManyAttempts(_("Too many wrong codes. Try again in 15 minutes."), field="code")
        else:
            wrong = ValidationFailed(_("Wrong code. Tries left: %(left)d.") % {"left": left}, field="code")
    raise wrong
