"""Variables (Переменные, D8): one template syntax for forms, card fields and messages.

``Здравствуйте, {{first_name}}! Ваш баланс: {{ balance }}`` — a variable is ``{{key}}`` with optional
spaces. Texts are validated when saved: an unknown variable is an error, never an empty string.
Rendering is a plain substitution (no logic, no filters, no attribute access), so a business cannot
reach anything but the values we hand over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kopilka.accounts.models import Business
    from kopilka.cards.models import Card

PATTERN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class SystemVariable:
    key: str
    label: str | Promise
    type: str = "text"
    in_forms: bool = False  # a registration form may ask for it


SYSTEM: list[SystemVariable] = [
    SystemVariable("first_name", _("First name"), in_forms=True),
    SystemVariable("last_name", _("Last name"), in_forms=True),
    SystemVariable("phone", _("Phone")),
    SystemVariable("birth_date", _("Birth date"), "date", in_forms=True),
    SystemVariable("gender", _("Gender"), "choice", in_forms=True),
    SystemVariable("email", _("E-mail"), in_forms=True),
    SystemVariable("balance", _("Balance"), "number"),
    SystemVariable("level", _("Level")),
    SystemVariable("discount", _("Discount, %"), "number"),
    SystemVariable("card_number", _("Card number")),
    SystemVariable("referral_code", _("Referral code")),
    SystemVariable("stamps", _("Stamps"), "number"),
    SystemVariable("template_name", _("Card template")),
    SystemVariable("business_name", _("Business name")),
    SystemVariable("card_link", _("Card page link")),
]
SYSTEM_KEYS = frozenset(v.key for v in SYSTEM)


def used_keys(text: str) -> list[str]:
    """The variable keys of ``text`` in order of appearance, each once."""
    return list(dict.fromkeys(m.group(1) for m in PATTERN.finditer(text or "")))


def known_keys(business: Business) -> set[str]:
    from kopilka.enrollment.models import Variable

    return set(SYSTEM_KEYS) | set(Variable.objects.filter(business=business).values_list("key", flat=True))


def validate_text(text: str, *, business: Business | None = None, known: Iterable[str] | None = None) -> None:
    """Raise ``ValidationError`` naming every unknown or malformed ``{{…}}`` of ``text``."""
    allowed = set(known) if known is not None else known_keys(business) if business is not None else set(SYSTEM_KEYS)
    unknown = [key for key in used_keys(text) if key not in allowed]
    if unknown:
        raise ValidationError(
            gettext("Unknown variable: %(names)s. See the list on the Variables page.")
            % {"names": ", ".join("{{" + k + "}}" for k in unknown)},
            code="unknown_variable",
        )
    rest = PATTERN.sub("", text or "")
    if "{{" in rest or "}}" in rest:
        raise ValidationError(gettext("A variable is written as {{name}}: check the braces."), code="bad_braces")


def render(text: str, values: Mapping[str, Any]) -> str:
    """Substitute ``{{key}}``; a key missing from ``values`` (validated texts never have one) stays as written."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            return match.group(0)
        value = values[key]
        return "" if value is None else str(value)

    return PATTERN.sub(sub, text or "")


def _number(value: Any) -> str:
    text = f"{value:f}" if hasattr(value, "as_tuple") else str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def card_values(card: Card) -> dict[str, Any]:
    """The values of every variable for ``card`` (system ones, then the customer's custom ones)."""
    from kopilka.enrollment.models import CustomerValue
    from kopilka.enrollment.selectors import card_page_url

    customer = card.customer
    mechanic = card.template.mechanic
    discount = mechanic.discount_percent if mechanic is not None else None
    if card.level is not None and getattr(card.level, "discount_percent", None):
        discount = card.level.discount_percent
    values: dict[str, Any] = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "birth_date": customer.birth_date.strftime("%d.%m.%Y") if customer.birth_date else "",
        "gender": customer.get_gender_display() if customer.gender else "",
        "email": customer.email,
        "balance": _number(card.balance),
        "level": card.level.name if card.level else "",
        "discount": _number(discount) if discount is not None else "",
        "card_number": card.number,
        "referral_code": card.referral_code,
        "stamps": card.stamps,
        "template_name": card.template.name,
        "business_name": card.business.name,
        "card_link": card_page_url(card),
    }
    for row in CustomerValue.objects.filter(customer=customer).select_related("variable"):
        values[row.variable.key] = row.value
    return values


def sample_values(business: Business) -> dict[str, Any]:
    """Example values for previews in the cabinet."""
    from kopilka.enrollment.models import Variable

    values: dict[str, Any] = {
        "first_name": "Анна", "last_name": "Петрова", "phone": "+79991234567", "birth_date": "01.02.1990",
        "gender": gettext("Female"), "email": "anna@example.com", "balance": "350", "level": "Silver",
        "discount": "5", "card_number": "12345678", "referral_code": "ABCD2345", "stamps": "3",
        "template_name": gettext("Card template"), "business_name": business.name,
        "card_link": "https://example.com/c/…",
    }  # fmt: skip
    for variable in Variable.objects.filter(business=business):
        values[variable.key] = variable.label
    return values
