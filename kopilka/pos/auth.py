"""The one dependency every POS API route declares: body size, key, rate limit, permission.

``auth=api_key("purchases")`` on a route resolves the bearer key to its business (and the point of
sale it is bound to), counts the request against the key's rate limit and checks the permission.
"""

from __future__ import annotations

import math
import os
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from kopilka.pos import selectors
from kopilka.pos.models import ApiKey
from kopilka.pos.problems import ApiError
from kopilka.pos.services import hash_key

TOUCH_EVERY = timedelta(minutes=1)  # how stale ``last_used_at`` may get; saves a write per request


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    return int(value)


def max_body_bytes() -> int:
    return _setting("KOPILKA_API_MAX_BODY_BYTES", 64 * 1024)


def check_body_size(request: HttpRequest) -> None:
    limit = max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit or (request.method in {"POST", "PUT", "PATCH"} and len(request.body) > limit):
        raise ApiError(413, "payload_too_large", _("The body is larger than %(limit)d bytes.") % {"limit": limit})


def check_rate_limit(api_key: ApiKey) -> None:
    """A fixed window per key in the shared cache: at most N requests per window."""
    limit = _setting("KOPILKA_API_RATE_LIMIT", 600)
    window = _setting("KOPILKA_API_RATE_WINDOW_SECONDS", 60)
    now = time.time()
    slot = int(now // window)
    name = f"kopilka:api-rate:{api_key.pk}:{slot}"
    cache.add(name, 0, timeout=window * 2)
    try:
        count = cache.incr(name)
    except ValueError:  # evicted between add and incr
        cache.set(name, 1, timeout=window * 2)
        count = 1
    if count > limit:
        retry_after = max(1, math.ceil((slot + 1) * window - now))
        raise ApiError(
            429, "rate_limited", _("Too many requests for this API key; retry in %(seconds)d s.") % {"seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )  # fmt: skip


class KeyAuth(HttpBearer):
    def __init__(self, permission: str | None = None) -> None:
        super().__init__()
        self.permission = permission

    def __call__(self, request: HttpRequest) -> Any:
        check_body_size(request)
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        token = token.strip()
        if not token or len(token) > 200:
            return None
        api_key = selectors.active_key_by_hash(hash_key(token))
        if api_key is None:
            return None
        check_rate_limit(api_key)
        if self.permission and not api_key.allows(self.permission):
            raise ApiError(403, "forbidden", _("This API key lacks the permission '%(name)s'.") % {"name": self.permission})
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > TOUCH_EVERY:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        request.business = api_key.business  # type: ignore[attr-defined]
        request.point_of_sale = api_key.point_of_sale  # type: ignore[attr-defined]
        return api_key


def api_key(permission: str | None = None) -> KeyAuth:
    return KeyAuth(permission)
