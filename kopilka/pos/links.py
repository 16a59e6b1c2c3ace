"""The card's links in API answers: its public page and wallet links, from the apps that serve them."""

from __future__ import annotations

import logging

from kopilka.cards.models import Card

logger = logging.getLogger("kopilka.pos.api")


def card_links(card: Card) -> dict[str, str]:
    try:
        from kopilka.enrollment import selectors as enrollment  # the card page (D6) and wallet buttons
    except ImportError:
        return {}
    found: dict[str, str] = {}
    try:
        found["card_page"] = enrollment.card_page_url(card)
        wallet = enrollment.wallet_links(card)
    except Exception:  # a link that cannot be built yet is left out, not a 500
        logger.exception("card links of %s", card.pk)
        return found
    if wallet.get("apple"):
        found["apple_pass"] = wallet["apple"]
    if wallet.get("google"):
        found["google_save"] = wallet["google"]
    return found
