"""Absolute links handed out by the platform (e-mails, cards, webhooks)."""

from __future__ import annotations

from django.conf import settings

FALLBACK_BASE = "http://localhost:8000"


def public_base() -> str:
    return (getattr(settings, "PUBLIC_URL", "") or FALLBACK_BASE).rstrip("/")


def absolute(path: str) -> str:
    """``/invite/abc`` → ``https://loyalty.example.com/invite/abc`` (KOPILKA_PUBLIC_URL)."""
    return public_base() + (path if path.startswith("/") else "/" + path)
