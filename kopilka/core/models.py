"""Shared kernel models: the tenant base, the audit log, the event outbox, scheduler slots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from kopilka.accounts.models import Business


class BusinessQuerySet(models.QuerySet):
    def for_business(self, business: Business) -> BusinessQuerySet:
        return self.filter(business=business)


class TenantModel(models.Model):
    """Every tenant-owned row has a business; reads go through ``for_business``."""

    business = models.ForeignKey("accounts.Business", on_delete=models.CASCADE, related_name="+")

    objects = BusinessQuerySet.as_manager()

    class Meta:
        abstract = True


class AuditEntry(TenantModel):
    """A manual change made by a person (A8): who, when, what, before/after, and why."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["business", "-created_at"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    def changes(self) -> list[tuple[str, Any, Any]]:
        before = self.before or {}
        after = self.after or {}
        keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


class OutboxEvent(TenantModel):
    """Something that happened, written in the same transaction as the change itself.

    Triggers, webhooks and wallet updates consume these rows; ``id`` orders them.
    """

    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SchedulerSlot(models.Model):
    """One row per job and due time: the unique key makes a job fire once even with two schedulers."""

    job = models.CharField(max_length=100)
    due_at = models.DateTimeField()
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "due_at"], name="scheduler_slot_once")]

    def __str__(self) -> str:
        return f"{self.job}@{self.due_at.isoformat()}"


class OutboxCursor(models.Model):
    """How far one consumer of the outbox has read; moved under a row lock (see ``core.outbox``)."""

    consumer = models.CharField(max_length=64, unique=True)
    last_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.consumer}@{self.last_id}"
