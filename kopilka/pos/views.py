"""Integrations → API keys: list, create (the key is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.core.access import section_required
from kopilka.core.permissions import Level
from kopilka.pos import selectors, services
from kopilka.pos.forms import ApiKeyForm
from kopilka.pos.models import PERMISSIONS


@section_required("integrations")
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    can_edit = request.membership.can("integrations", Level.EDIT)  # type: ignore[attr-defined]
    form = ApiKeyForm(request.POST or None, business=business)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.create_api_key(
                business=business,
                name=form.cleaned_data["name"],
                point_of_sale=form.cleaned_data["point_of_sale"],
                permissions=form.cleaned_data["permissions"],
                actor=request.user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            new_key = issued
            form = ApiKeyForm(business=business)
    status = 200
    return render(
        request,
        "pos/api_keys.html",
        {
            "keys": selectors.api_keys(business),
            "form": form,
            "new_key": new_key,
            "can_edit": can_edit,
            "permission_labels": PERMISSIONS,
        },
        status=status,
    )


@section_required("integrations")
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    api_key = selectors.access_api_key(business=business, key_id=key_id)
    services.revoke_api_key(business=business, api_key=api_key, actor=request.user)
    messages.success(request, _("The key %(prefix)s… is revoked.") % {"prefix": api_key.prefix})
    return redirect("pos:api_keys")
