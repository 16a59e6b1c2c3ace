"""The customer's pages (mobile-first, Russian by default): template link → form → SMS code → card page,
the card page by its secret link (``/c/<token>/``), and ``/me/`` (phone + code → my cards).

Holding a token is the permission here (``public``): a template token opens its registration form, a
card token its page. Nothing of the cabinet is reachable from these views.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kopilka.cards.models import Card
from kopilka.core.access import public
from kopilka.customers.models import Customer
from kopilka.enrollment import forms, selectors, services, variables
from kopilka.enrollment.models import (
    CardLink,
    PageDesign,
    PhoneVerification,
    RegistrationForm,
    TemplateJourney,
    UtmLink,
)
from kopilka.loyalty.models import LedgerEntry

ME_SESSION_TTL = timedelta(hours=12)
STATUS_FOR = {"blacklisted": 403, "phone_limit": 429, "ip_limit": 429, "too_early": 429, "locked": 429}


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _journey(template_token: str) -> TemplateJourney:
    return get_object_or_404(
        TemplateJourney.objects.select_related("template", "template__business", "verification_design"),
        token=template_token,
    )


def _design_context(journey: TemplateJourney) -> dict[str, Any]:
    design = journey.verification_design
    if design is None:
        design = PageDesign(kind=PageDesign.Kind.VERIFICATION, name="")
    return {"design": design}


def _page(
    request: HttpRequest, journey: TemplateJourney, name: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    template = journey.template
    reg_form: RegistrationForm | None = getattr(template, "registration_form", None)
    # No customer yet: customer-specific variables are empty here, the business's names are known.
    sample = dict.fromkeys(variables.known_keys(template.business), "")
    sample.update(business_name=template.business.name, template_name=template.name)
    base = {
        "journey": journey, "card_template": template, "shop_name": template.business.name, "reg_form": reg_form,
        "title": variables.render(reg_form.title, sample) if reg_form and reg_form.title else template.name,
        "description": variables.render(reg_form.description, sample) if reg_form else "",
        **_design_context(journey),
    }  # fmt: skip
    return render(request, f"enrollment/public/{name}.html", {**base, **context}, status=status)


def _utm_from_request(request: HttpRequest, journey: TemplateJourney) -> UtmLink | None:
    token = request.GET.get("utm") or ""
    link = None
    if token:
        link = UtmLink.objects.filter(token=token[:16], template=journey.template).first()
    elif request.GET.get("utm_source"):
        link = services.match_utm_link(
            template=journey.template, source=request.GET.get("utm_source", "")[:100],
            medium=request.GET.get("utm_medium", "")[:100], campaign=request.GET.get("utm_campaign", "")[:100],
        )  # fmt: skip
    return link


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _session_key(journey: TemplateJourney, what: str) -> str:
    return f"enroll:{journey.template_id}:{what}"


@public
@require_GET
def utm_entry(request: HttpRequest, utm_token: str) -> HttpResponse:
    link = get_object_or_404(UtmLink.objects.select_related("template"), token=utm_token)
    journey = selectors.journey_of(link.template)
    return redirect(reverse("enrollment:journey", kwargs={"template_token": journey.token}) + f"?utm={link.token}")


@public
@require_http_methods(["GET", "POST"])
def journey(request: HttpRequest, template_token: str) -> HttpResponse:
    journey = _journey(template_token)
    template = journey.template
    business = template.business
    if not template.is_active:
        return _page(request, journey, "closed", {}, status=410)
    link = _utm_from_request(request, journey)
    if link is not None:
        seen = set(request.session.get("enroll:utm_seen", []))
        if link.pk not in seen:
            services.count_utm_visit(link=link)
            request.session["enroll:utm_seen"] = sorted(seen | {link.pk})
        request.session[_session_key(journey, "utm")] = link.pk
    reg_form: RegistrationForm | None = getattr(template, "registration_form", None)
    form_class = forms.public_form_class(business, reg_form)
    form = form_class(request.POST or None)
    error = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {k: _plain(form.cleaned_data.get(k)) for k in form_class.field_keys if k != "phone"}  # type: ignore[attr-defined]
            consents = {}
            if form.cleaned_data.get("consent_terms") and reg_form is not None:
                consents["terms"] = reg_form.terms_text
            if form.cleaned_data.get("consent_marketing") and reg_form is not None:
                consents["marketing"] = reg_form.marketing_text
            data = {"values": values, "consents": consents, "accepted_at": timezone.now().isoformat()}
            try:
                verification = services.start_verification(
                    business=business, purpose=PhoneVerification.Purpose.REGISTRATION, phone=form.cleaned_data["phone"],
                    template=template, data=data, ip=client_ip(request),
                )  # fmt: skip
            except services.JourneyError as exc:
                error, status = exc.message, STATUS_FOR.get(exc.code, 422)
            else:
                request.session[_session_key(journey, "verification")] = verification.pk
                return redirect("enrollment:journey_code", template_token=journey.token)
        else:
            status = 422
    return _page(request, journey, "form", {"form": form, "error": error}, status=status)


def _pending(request: HttpRequest, journey: TemplateJourney) -> PhoneVerification | None:
    pk = request.session.get(_session_key(journey, "verification"))
    if not isinstance(pk, int):
        return None
    return PhoneVerification.objects.filter(
        pk=pk, business_id=journey.business_id, template_id=journey.template_id,
        purpose=PhoneVerification.Purpose.REGISTRATION,
    ).first()  # fmt: skip


@public
@require_http_methods(["GET", "POST"])
def journey_code(request: HttpRequest, template_token: str) -> HttpResponse:
    journey = _journey(template_token)
    verification = _pending(request, journey)
    if verification is None:
        return redirect("enrollment:journey", template_token=journey.token)
    form = forms.CodeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                verification = services.check_code(verification=verification, code=form.cleaned_data["code"])
                utm_pk = request.session.get(_session_key(journey, "utm"))
                link = (
                    UtmLink.objects.filter(pk=utm_pk, template_id=journey.template_id).first()
                    if isinstance(utm_pk, int)
                    else None
                )
                registration = services.complete_registration(verification=verification, utm_link=link)
            except services.JourneyError as exc:
                error, status = exc.message, STATUS_FOR.get(exc.code, 422)
            else:
                request.session.pop(_session_key(journey, "verification"), None)
                request.session.pop(_session_key(journey, "utm"), None)
                token = selectors.card_link_of(registration.card).token
                url = reverse("enrollment:card_page", kwargs={"card_token": token})
                return redirect(url + ("?new=1" if registration.created else "?again=1"))
        else:
            status = 422
    wait = int(max(0, (verification.sent_at + services.RESEND_AFTER - timezone.now()).total_seconds()))
    return _page(request, journey, "code", {"form": form, "error": error, "phone": verification.phone, "wait": wait},
                 status=status)  # fmt: skip


@public
@require_POST
def journey_resend(request: HttpRequest, template_token: str) -> HttpResponse:
    journey = _journey(template_token)
    verification = _pending(request, journey)
    if verification is None:
        return redirect("enrollment:journey", template_token=journey.token)
    try:
        services.resend_code(verification=verification, ip=client_ip(request))
    except services.JourneyError as exc:
        form = forms.CodeForm()
        wait = int(max(0, (verification.sent_at + services.RESEND_AFTER - timezone.now()).total_seconds()))
        return _page(request, journey, "code", {"form": form, "error": exc.message, "phone": verification.phone,
                                                "wait": wait}, status=STATUS_FOR.get(exc.code, 422))  # fmt: skip
    return redirect("enrollment:journey_code", template_token=journey.token)


# --- The card's page ---------------------------------------------------------------------------------


def _card_context(card: Card) -> dict[str, Any]:
    journey = selectors.journey_settings(card.template)
    wallet = selectors.wallet_links(card)
    history = list(
        LedgerEntry.objects.filter(business_id=card.business_id, card=card).order_by("-created_at", "-id")[:20]
    )
    return {
        "card": card, "shop_name": card.business.name, "journey": journey, "history": history,
        "apple_url": wallet.get("apple") if journey.show_apple else None,
        "google_url": wallet.get("google") if journey.show_google else None,
        "design": journey.verification_design or PageDesign(kind=PageDesign.Kind.VERIFICATION, name=""),
    }  # fmt: skip


@public
@require_GET
def card_page(request: HttpRequest, card_token: str) -> HttpResponse:
    link = get_object_or_404(
        CardLink.objects.select_related("card", "card__template", "card__customer", "card__level", "card__business"),
        token=card_token,
    )
    card = link.card
    if card.status == Card.Status.DELETED:
        return render(request, "enrollment/public/card_gone.html", {"shop_name": card.business.name}, status=410)
    context = _card_context(card)
    context.update(new=request.GET.get("new") == "1", again=request.GET.get("again") == "1")
    return render(request, "enrollment/public/card.html", context)


# --- /me/: a customer's cards by phone + code ------------------------------------------------------------


def _me_phone(request: HttpRequest) -> str | None:
    phone = request.session.get("me:phone")
    until = request.session.get("me:until")
    if isinstance(phone, str) and isinstance(until, str) and until > timezone.now().isoformat():
        return phone
    return None


@public
@require_http_methods(["GET", "POST"])
def me(request: HttpRequest) -> HttpResponse:
    phone = _me_phone(request)
    if phone is not None:
        cards = (
            Card.objects.filter(customer__phone=phone).exclude(status=Card.Status.DELETED)
            .select_related("template", "business", "level").order_by("business_id", "id")
        )  # fmt: skip
        rows = [
            (c, reverse("enrollment:card_page", kwargs={"card_token": selectors.card_link_of(c).token})) for c in cards
        ]
        return render(request, "enrollment/public/me_cards.html", {"phone": phone, "rows": rows})
    form = forms.PhoneForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            number = form.cleaned_data["phone"]
            customer = Customer.objects.filter(phone=number).select_related("business").order_by("id").first()
            try:
                if customer is not None:
                    verification = services.start_verification(
                        business=customer.business, purpose=PhoneVerification.Purpose.LOGIN, phone=number,
                        ip=client_ip(request),
                    )  # fmt: skip
                    request.session["me:verification"] = verification.pk
                else:  # answer as if a code went out: the page must not tell who is a customer
                    services._check_limits(phone=number, ip=client_ip(request))
                    request.session["me:verification"] = None
                request.session["me:pending_phone"] = number
            except services.JourneyError as exc:
                error, status = exc.message, STATUS_FOR.get(exc.code, 422)
            else:
                return redirect("enrollment:me_code")
        else:
            status = 422
    return render(request, "enrollment/public/me.html", {"form": form, "error": error}, status=status)


@public
@require_http_methods(["GET", "POST"])
def me_code(request: HttpRequest) -> HttpResponse:
    number = request.session.get("me:pending_phone")
    if not isinstance(number, str):
        return redirect("enrollment:me")
    form = forms.CodeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            pk = request.session.get("me:verification")
            verification = (
                PhoneVerification.objects.filter(pk=pk, phone=number, purpose=PhoneVerification.Purpose.LOGIN).first()
                if isinstance(pk, int) else None
            )  # fmt: skip
            try:
                if verification is None:
                    raise services.JourneyError(_("Wrong code."), code="wrong")
                services.check_code(verification=verification, code=form.cleaned_data["code"])
            except services.JourneyError as exc:
                error, status = exc.message, STATUS_FOR.get(exc.code, 422)
            else:
                request.session.cycle_key()
                request.session["me:phone"] = number
                request.session["me:until"] = (timezone.now() + ME_SESSION_TTL).isoformat()
                request.session.pop("me:pending_phone", None)
                request.session.pop("me:verification", None)
                return redirect("enrollment:me")
        else:
            status = 422
    return render(
        request, "enrollment/public/me_code.html", {"form": form, "error": error, "phone": number}, status=status
    )


@public
@require_POST
def me_logout(request: HttpRequest) -> HttpResponse:
    for key in ("me:phone", "me:until", "me:pending_phone", "me:verification"):
        request.session.pop(key, None)
    return redirect("enrollment:me")
