"""The one place where cabinet pages check who may do what.

Every cabinet view is wrapped by one of these decorators. Each leaves a mark on the view
(``kopilka_access``) so a test can walk the URL conf and prove no page was left unguarded.

- ``section_required(section)``: a signed-in member of the current business whose role gives at
  least *view* on the section for safe methods (GET/HEAD) and *edit* for anything else.
- ``owner_required``: the Office Owner only.
- ``member_required``: any member of the current business (own settings, switching).
- ``signed_in_required``: signed in, with or without a business (onboarding).
- ``public``: anyone (sign-up, login, invitation links, public pages).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect

from kopilka.core.permissions import SECTIONS, Level

View = TypeVar("View", bound=Callable[..., HttpResponseBase])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _mark(view: Any, access: str) -> None:
    view.kopilka_access = access


def _needs_login(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


def _needs_business(request: HttpRequest) -> HttpResponse | None:
    denied = _needs_login(request)
    if denied:
        return denied
    if getattr(request, "membership", None) is None:
        return redirect("accounts:onboarding")
    return None


def section_required(section: str) -> Callable[[View], View]:
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            denied = _needs_business(request)
            if denied:
                return denied
            needed = Level.VIEW if request.method in SAFE_METHODS else Level.EDIT
            if not request.membership.can(section, needed):  # type: ignore[attr-defined]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        _mark(wrapper, f"section:{section}")
        return wrapper  # type: ignore[return-value]

    return decorator


def owner_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        denied = _needs_business(request)
        if denied:
            return denied
        if not request.membership.is_owner:  # type: ignore[attr-defined]
            raise PermissionDenied
        return view(request, *args, **kwargs)

    _mark(wrapper, "owner")
    return wrapper  # type: ignore[return-value]


def member_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        denied = _needs_business(request)
        if denied:
            return denied
        return view(request, *args, **kwargs)

    _mark(wrapper, "member")
    return wrapper  # type: ignore[return-value]


def signed_in_required(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        denied = _needs_login(request)
        if denied:
            return denied
        return view(request, *args, **kwargs)

    _mark(wrapper, "signed_in")
    return wrapper  # type: ignore[return-value]


def public(view: View) -> View:
    _mark(view, "public")
    return view


def access_of(view: Any) -> str | None:
    """The access mark of a resolved view (function or class-based ``as_view()``)."""
    mark = getattr(view, "kopilka_access", None)
    if mark is None and hasattr(view, "view_class"):
        mark = getattr(view.view_class, "kopilka_access", None)
    return mark
