"""``Idempotency-Key`` for every write of the POS API.

A write runs in one transaction that first inserts the (business, key) row. A concurrent request
with the same key blocks on that insert (PostgreSQL's unique index, SQLite's single writer) until
the first commits, then finds the stored response and replays it: the change applies once. Only
successful (2xx) responses are stored; an error rolls the row back with everything else, so a
retry runs again.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.pos.models import ApiKey, IdempotencyRecord
from kopilka.pos.problems import ApiError

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=25)  # the contract says at least 24 hours


def request_fingerprint(request: HttpRequest) -> str:
    body = request.body
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + canonical).hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status or 200, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a write view of the API; the view must return an ``HttpResponse``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        api_key: ApiKey = request.auth  # type: ignore[attr-defined]
        key = request.headers.get(HEADER)
        if key is None:  # the service's own transaction is enough
            return _call(view, request, args, kwargs)
        if not 1 <= len(key) <= 255:
            raise ApiError(
                422, "validation_error", _("The Idempotency-Key header must be 1 to 255 characters long."),
                errors=[{"field": HEADER, "message": _("Must be 1 to 255 characters long.")}],
            )  # fmt: skip
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        business_id=api_key.business_id, key=key, request_hash=fingerprint, api_key=api_key
                    )
            except IntegrityError:
                existing = IdempotencyRecord.objects.filter(business_id=api_key.business_id, key=key).first()
                if existing is None or existing.status is None:  # pragma: no cover - the row commits with its response
                    raise ApiError(409, "idempotency_conflict", _("A request with this key is in progress.")) from None
                if existing.request_hash != fingerprint:
                    raise ApiError(
                        409, "idempotency_conflict", _("This Idempotency-Key was used with another request.")
                    ) from None
                return _replay(existing)
            response = _run(view, request, args, kwargs)
            if response.status_code >= 300:
                return response
            record.status = response.status_code
            record.content_type = response.get("Content-Type", "application/json")
            record.body = response.content
            record.save(update_fields=["status", "content_type", "body"])
            return response

    # Ninja reads the view's signature; resolve its annotations here, in the view's own module.
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    return wrapper


def _call(view: Callable[..., HttpResponse], request: HttpRequest, args: Any, kwargs: Any) -> HttpResponse:
    response = view(request, *args, **kwargs)
    if not isinstance(response, HttpResponse):
        raise TypeError(f"{view.__name__} must return an HttpResponse to be idempotent")
    return response


def _run(view: Callable[..., HttpResponse], request: HttpRequest, args: Any, kwargs: Any) -> HttpResponse:
    response = view(request, *args, **kwargs)
    if not isinstance(response, HttpResponse):
        raise TypeError(f"{view.__name__} must return an HttpResponse to be idempotent")
    if response.status_code >= 300:
        transaction.set_rollback(True)  # an answered error changes nothing, and is not stored
    return response


def prune(now: Any = None) -> int:
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _counts = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
