from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_safe

from kopilka.core import selectors
from kopilka.core.access import member_required, public, section_required


@public
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    return redirect("accounts:login")


@member_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"stats": selectors.home_stats(request.business)})  # type: ignore[attr-defined]


@section_required("settings")
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    # A filter typed into the address bar: PostgreSQL refuses NUL characters in a query, so drop them.
    action = request.GET.get("action", "").replace("\x00", "")[:64]
    entries = selectors.audit_entries(request.business, action=action)  # type: ignore[attr-defined]
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit_log.html", {"page": page, "action": action})


@public
@require_safe  # load balancers and uptime monitors often ask with HEAD
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
