"""Masking of personal data (A5): only the Office Owner sees names, phones and e-mails in full."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``+79991234567`` → ``+7999***4567``."""
    if not phone:
        return ""
    if len(phone) <= 8:
        return phone[:2] + "*" * max(len(phone) - 2, 0)
    return phone[:5] + "***" + phone[-4:]


def mask_email(email: str | None) -> str:
    """``anna.petrova@mail.ru`` → ``a***@mail.ru``."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else local[:1] + "***"


def mask_name(name: str | None) -> str:
    """``Анна Петрова`` → ``А*** П***``: the initials stay so staff can greet the guest."""
    if not name:
        return ""
    return " ".join(part[:1] + "***" for part in name.split())


def mask_date(value: object) -> str:
    return "**.**.****" if value else ""
