"""Outgoing webhooks (C5): endpoints, deliveries of outbox events, the attempt log, the outbox cursor."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel

# Event types a business may subscribe to; "*" means all of them (and any added later).
EVENT_TYPES = [
    "purchase.confirmed",
    "purchase.refunded",
    "points.changed",
    "level.changed",
    "card.issued",
    "coupon.redeemed",
    "stamps.reward_earned",
    "certificate.issued",
    "certificate.spent",
    "ticket.checked_in",
    "custom.event",
]


class WebhookEndpoint(TenantModel):
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(max_length=255)  # encrypted at rest (kopilka.wallet.vault); see signing_secret
    events = models.JSONField(default=list)  # ["*"] or a list of EVENT_TYPES
    is_active = models.BooleanField(_("active"), default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)  # consecutive failed attempts
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    @property
    def signing_secret(self) -> str:
        """The ``whsec_…`` secret shown to the business and used to sign deliveries."""
        from kopilka.wallet import vault

        if self.secret.startswith("whsec_"):  # stored before secrets were encrypted
            return self.secret
        return vault.decrypt(self.secret).decode()

    def wants(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class WebhookDelivery(TenantModel):
    """One event for one endpoint; attempted until a 2xx or the retry schedule runs out."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("delivered")
        FAILED = "failed", _("failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.OutboxEvent", on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # an excerpt of the last answer
    error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


class WebhookAttempt(TenantModel):
    """The log of every POST made for a delivery."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    manual = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.response_code or self.error}"
