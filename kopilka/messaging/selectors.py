"""Reads of sent messages, scoped by business."""

from __future__ import annotations

from django.db.models import QuerySet

from kopilka.accounts.models import Business
from kopilka.messaging.models import SmsMessage


def sms_outbox(business: Business) -> QuerySet[SmsMessage]:
    return SmsMessage.objects.filter(business=business).order_by("-created_at", "-id")


def last_sms_to(business: Business, phone: str) -> SmsMessage | None:
    return sms_outbox(business).filter(phone=phone).first()
