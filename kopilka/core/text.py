"""Small text helpers: slugs from Russian names, phone numbers in E.164."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext as _

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}  # fmt: skip


def transliterate(text: str) -> str:
    return "".join(
        _CYRILLIC.get(ch.lower(), ch).upper() if ch.isupper() and ch.lower() in _CYRILLIC
        else _CYRILLIC.get(ch, ch)
        for ch in text
    )


def latin_slug(text: str, max_length: int = 50) -> str:
    return slugify(transliterate(text))[:max_length].strip("-")


def normalise_phone(raw: str, region: str = "RU") -> str:
    """Parse a phone typed by a person into E.164 (``+79991234567``) or raise ValidationError."""
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(_("Enter a valid phone number, e.g. +7 999 123-45-67."), code="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number, e.g. +7 999 123-45-67."), code="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
