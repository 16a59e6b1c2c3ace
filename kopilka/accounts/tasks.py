from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from kopilka.accounts.models import EmailCode


@task()
def prune_email_codes() -> int:
    """Codes are useless after they expire; keep a day for support questions, then delete."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = EmailCode.objects.filter(Q(expires_at__lt=cutoff) | Q(used_at__lt=cutoff)).delete()
    return deleted
