"""Sending SMS: record the message, hand it to the configured provider, record the outcome."""

from __future__ import annotations

import logging

from django.utils import timezone

from kopilka.accounts.models import Business
from kopilka.messaging.models import SmsMessage
from kopilka.messaging.providers import SmsProvider, get_provider

logger = logging.getLogger("kopilka.sms")


def send_sms(
    *, business: Business, phone: str, text: str, purpose: str, provider: SmsProvider | None = None
) -> SmsMessage:
    """Never raises for a delivery problem: the message ends ``failed`` with the error recorded."""
    provider = provider or get_provider()
    message = SmsMessage.objects.create(
        business=business, phone=phone, text=text, purpose=purpose[:32], provider=provider.name
    )
    try:
        result = provider.send(phone, text)
    except Exception as exc:  # a provider bug must not break the caller's flow
        logger.exception("SMS provider %s failed", provider.name)
        message.status = SmsMessage.Status.FAILED
        message.error = f"{type(exc).__name__}: {exc}"[:500]
    else:
        if result.ok:
            message.status = SmsMessage.Status.SENT
            message.provider_message_id = result.message_id[:100]
            message.sent_at = timezone.now()
        else:
            message.status = SmsMessage.Status.FAILED
            message.error = result.error
    message.save(update_fields=["status", "provider_message_id", "sent_at", "error"])
    return message
