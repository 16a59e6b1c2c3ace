"""Requests to the POS API skip the cabinet's middleware.

The API authenticates every request by its key and sets no cookie, so sessions, the signed-in user,
CSRF, messages, the business in the session, htmx and the login lockout have nothing to do there; run
for every till request they cost about a fifth of a millisecond of CPU (docs/benchmarks.md). This
middleware comes first in ``MIDDLEWARE``: requests under ``/api/`` leave the chain here and run through
``API_MIDDLEWARE`` (security headers, the language of error messages) to the same URLconf and views.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings

API_PREFIX = "/api/"


class ApiChainMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        handler = BaseHandler()
        # Django's own loader (adapters, hooks, MiddlewareNotUsed) reads settings.MIDDLEWARE: point it at
        # the API's list while it builds this chain, once per process.
        with override_settings(MIDDLEWARE=settings.API_MIDDLEWARE):
            handler.load_middleware()
        self.api_chain = handler._middleware_chain  # type: ignore[attr-defined]  # set by load_middleware

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            return self.api_chain(request)  # type: ignore[no-any-return]
        return self.get_response(request)
