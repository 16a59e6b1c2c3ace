"""API keys of the POS API and its idempotency store."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel

# What a key may do; reading cards and templates needs no permission beyond a valid key.
PERMISSIONS: dict[str, object] = {
    "purchases": _("Calculate and confirm purchases"),
    "refunds": _("Refund purchases"),
    "cards_issue": _("Issue cards"),
    "points_adjust": _("Adjust points manually"),
    "events": _("Send custom events"),
}
DEFAULT_PERMISSIONS = ["purchases", "refunds", "cards_issue", "events"]


class ApiKey(TenantModel):
    """A secret a till or a site presents as ``Authorization: Bearer <key>``.

    Only a SHA-256 digest of the key is stored; the key itself is shown once, when created.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    point_of_sale = models.ForeignKey(
        "accounts.PointOfSale",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_keys",
        verbose_name=_("point of sale"),
    )
    permissions = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, permission: str) -> bool:
        return permission in (self.permissions or [])


class IdempotencyRecord(TenantModel):
    """The first response to a write sent with an ``Idempotency-Key``, replayed to its retries."""

    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    api_key = models.ForeignKey(ApiKey, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "key"], name="idempotency_key_unique_per_business")
        ]

    def __str__(self) -> str:
        return self.key
