"""The web cashier's own state: the 4-digit SMS code of a card issued online at the till (C2, D3).

The loyalty engine issues the card unverified; the code lives here until the customer reads it out.
Only a keyed hash of the code is stored; a code expires after 10 minutes and allows 5 tries, after
which new codes for the card are refused for 15 minutes.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel


class TillVerification(TenantModel):
    card = models.ForeignKey("cards.Card", on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "-created_at"])]
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")

    def __str__(self) -> str:
        return f"{self.card_id} @ {self.created_at:%Y-%m-%d %H:%M}"
