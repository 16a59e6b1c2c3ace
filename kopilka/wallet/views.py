"""Apple's pass web service (public, token-authenticated), the pass download, the certificates page."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.http import http_date, parse_http_date_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kopilka.cards.models import CardTemplate
from kopilka.core.access import public, section_required
from kopilka.core.permissions import Level
from kopilka.enrollment.variables import sample_values
from kopilka.wallet import pkpass, services
from kopilka.wallet.forms import AppleCertificateForm, GoogleSettingsForm, OrganizationForm, TemplateDesignForm
from kopilka.wallet.models import PassState, TemplateDesign, WalletSettings

logger = logging.getLogger("kopilka.wallet.device_log")


def _pass_state(pass_type_id: str, serial_number: str) -> PassState | None:
    return (
        PassState.objects.filter(
            serial_number=serial_number,
            business__in=WalletSettings.objects.filter(apple_pass_type_id=pass_type_id).values("business"),
        )
        .select_related("card")
        .first()
    )


def _authorized(request: HttpRequest, state: PassState) -> bool:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return scheme == "ApplePass" and constant_time_compare(token.strip(), state.authentication_token)


def _pass_response(state: PassState) -> HttpResponse:
    card = state.card
    content = services.build_card_pass(card, state)
    response = HttpResponse(content, content_type=pkpass.MIME_TYPE)
    response["Last-Modified"] = http_date(state.updated_at.timestamp())
    response["Cache-Control"] = "no-cache"
    response["Content-Disposition"] = f'attachment; filename="{card.number}.pkpass"'
    return response


@public
@csrf_exempt
@require_http_methods(["POST", "DELETE"])
def registration(request: HttpRequest, device_id: str, pass_type_id: str, serial_number: str) -> HttpResponse:
    state = _pass_state(pass_type_id, serial_number)
    if state is None:
        return HttpResponse(status=404)
    if not _authorized(request, state):
        return HttpResponse(status=401)
    if request.method == "DELETE":
        services.unregister_device(state=state, device_library_identifier=device_id)
        return HttpResponse(status=200)
    try:
        body = json.loads(request.body or b"{}")
        push_token = body["pushToken"]
    except (ValueError, KeyError, TypeError):
        return HttpResponse(status=400)
    if not isinstance(push_token, str) or not push_token or len(push_token) > 256:
        return HttpResponse(status=400)
    created = services.register_device(state=state, device_library_identifier=device_id, push_token=push_token)
    return HttpResponse(status=201 if created else 200)


@public
@csrf_exempt
@require_http_methods(["GET"])
def serial_numbers(request: HttpRequest, device_id: str, pass_type_id: str) -> HttpResponse:
    since_raw = request.GET.get("passesUpdatedSince", "")
    since = int(since_raw) if since_raw.isdigit() and len(since_raw) < 19 else None
    serials, last = services.updated_serials(
        device_library_identifier=device_id, pass_type_id=pass_type_id, since=since
    )
    if not serials:
        return HttpResponse(status=204)
    return JsonResponse({"serialNumbers": serials, "lastUpdated": str(last)})


@public
@csrf_exempt
@require_http_methods(["GET"])
def latest_pass(request: HttpRequest, pass_type_id: str, serial_number: str) -> HttpResponse:
    state = _pass_state(pass_type_id, serial_number)
    if state is None:
        return HttpResponse(status=404)
    if not _authorized(request, state):
        return HttpResponse(status=401)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if since is not None and int(state.updated_at.timestamp()) <= since:
        response = HttpResponse(status=304)
        response["Last-Modified"] = http_date(state.updated_at.timestamp())
        return response
    return _pass_response(state)


@public
@csrf_exempt
@require_http_methods(["POST"])
def device_log(request: HttpRequest) -> HttpResponse:
    try:
        entries = json.loads(request.body or b"{}").get("logs", [])
    except (ValueError, AttributeError):
        entries = []
    for entry in entries[:50] if isinstance(entries, list) else []:
        logger.info("device: %s", str(entry)[:500])
    return HttpResponse(status=200)


@public
@require_http_methods(["GET"])
def pass_download(request: HttpRequest, pass_token: str) -> HttpResponse:
    """The card's signed pass behind an unguessable link (POS API ``links.apple_pass``)."""
    state = PassState.objects.filter(download_token=pass_token).select_related("card").first()
    row = services.wallet_settings_for(state.business_id) if state is not None else None
    if state is None or row is None or not row.has_apple:
        return HttpResponse(status=404)
    return _pass_response(state)


# --- Cabinet: Настройки → Сертификат -----------------------------------------------------------------


@section_required("certificates")
@require_http_methods(["GET", "POST"])
def certificates_page(request: HttpRequest) -> HttpResponseBase:
    business = request.business  # type: ignore[attr-defined]
    current = services.wallet_settings_for(business)
    which = request.POST.get("form", "") if request.method == "POST" else ""
    post: Any = request.POST if request.method == "POST" else None
    files: Any = request.FILES if request.method == "POST" else None
    apple_form = AppleCertificateForm(post if which == "apple" else None, files if which == "apple" else None,
                                      current=current, prefix="apple")  # fmt: skip
    google_form = GoogleSettingsForm(
        post if which == "google" else None, files if which == "google" else None, current=current, prefix="google",
        initial={"issuer_id": current.google_issuer_id if current else ""},
    )  # fmt: skip
    org_form = OrganizationForm(
        post if which == "org" else None, prefix="org",
        initial={"organization_name": (current.organization_name if current else "") or business.name},
    )  # fmt: skip
    if which == "apple" and apple_form.is_valid():
        services.save_apple_certificate(business=business, certificate=apple_form.cleaned_data["parsed"],
                                        intermediate=apple_form.cleaned_data["intermediate"], actor=request.user)  # fmt: skip
        messages.success(request, _("The Apple certificate is saved."))
        return redirect("wallet:certificates")
    if which == "google" and google_form.is_valid():
        services.save_google_settings(business=business, issuer_id=google_form.cleaned_data["issuer_id"],
                                      service_account_json=google_form.cleaned_data["service_account"] or None,
                                      actor=request.user)  # fmt: skip
        messages.success(request, _("The Google Wallet settings are saved."))
        return redirect("wallet:certificates")
    if which == "org" and org_form.is_valid():
        services.save_organization_name(business=business, name=org_form.cleaned_data["organization_name"],
                                        actor=request.user)  # fmt: skip
        messages.success(request, _("The organisation name is saved."))
        return redirect("wallet:certificates")
    now = datetime.now(UTC)
    expires = current.apple_expires_at if current else None
    return render(
        request,
        "wallet/certificates.html",
        {
            "wallet": current,
            "apple_form": apple_form,
            "google_form": google_form,
            "org_form": org_form,
            "expiry_warning": services.expiry_warning(current, now),
            "expired": expires is not None and expires <= now,
            "days_left": (expires - now).days if expires else None,
            "can_edit": request.membership.can("certificates", 2),  # type: ignore[attr-defined]
        },
        status=400 if which in {"apple", "google", "org"} else 200,
    )


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def template_design(request: HttpRequest, template_id: int) -> HttpResponseBase:
    """Лояльность → template design (D1): the wallet look of a card template with a live preview."""
    business = request.business  # type: ignore[attr-defined]
    template = get_object_or_404(CardTemplate, pk=template_id, business=business)
    design = TemplateDesign.objects.filter(template=template).first() or TemplateDesign(template=template)
    levels = services.template_levels(template)
    posted = request.method == "POST"
    form = TemplateDesignForm(request.POST if posted else None, request.FILES if posted else None, levels=levels,
                              initial=TemplateDesignForm.initial_for(design))  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.design_data(current=design)
        if request.POST.get("action") == "copy_theme":
            data["level_themes"] = services.copied_themes(template, data)
        try:
            services.save_template_design(business=business, template=template, data=data, actor=request.user)
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("The card design is saved."))
            return redirect("wallet:template_design", template_id=template.pk)
    can_edit = bool(request.membership.can("loyalty", Level.EDIT))  # type: ignore[attr-defined]
    sample = sample_values(business)
    return render(request, "wallet/template_design.html", {
        "template": template, "form": form, "can_edit": can_edit, "levels": levels,
        "sample": sample, "organization_name": business.name, "design": design,
        "strip_rows": [(level, upload, remove, ((design.level_themes or {}).get(str(level.pk)) or {}).get("strip", ""))
                       for level, upload, remove in form.level_strips()],
        "initial_json": {name: form[name].value() or "" for name in (
            "background", "foreground", "label", "logo_text", "barcode_format", "barcode_content",
            "front_fields", "back_fields", "description")},
    })  # fmt: skip
