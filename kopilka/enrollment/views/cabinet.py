"""Cabinet pages of enrollment: Переменные, Формы (Регистрация, Дизайн верификации, Дизайн отзывов,
links of templates), UTM, Черный список, Удаленные карты, "Поделиться" on a card.

Thin views: fetch with ``selectors.access_*`` (404 across businesses), validate with a form, call one
service, redirect. GET needs *view* on the section, POST needs *edit* (``section_required``).
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kopilka.accounts.views.auth import _form_errors
from kopilka.core.access import section_required
from kopilka.core.permissions import Level
from kopilka.enrollment import forms, selectors, services, variables
from kopilka.enrollment.models import PageDesign, RegistrationForm


def _can_edit(request: HttpRequest, section: str) -> bool:
    return bool(request.membership.can(section, Level.EDIT))  # type: ignore[attr-defined]


def _business(request: HttpRequest) -> Any:
    return request.business  # type: ignore[attr-defined]


# --- Переменные -------------------------------------------------------------------------------------------


@section_required("variables")
@require_http_methods(["GET", "POST"])
def variable_list(request: HttpRequest) -> HttpResponse:
    business = _business(request)
    form = forms.VariableForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_variable(business=business, data=form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Variable saved."))
            return redirect("enrollment:variable_list")
    return render(
        request, "enrollment/variables.html",
        {"system": variables.SYSTEM, "custom": selectors.variables(business), "form": form,
         "can_edit": _can_edit(request, "variables")},
        status=422 if form.errors else 200,
    )  # fmt: skip


@section_required("variables")
@require_http_methods(["GET", "POST"])
def variable_edit(request: HttpRequest, variable_id: int) -> HttpResponse:
    business = _business(request)
    variable = selectors.access_variable(business=business, variable_id=variable_id)
    initial = {
        "key": variable.key,
        "label": variable.label,
        "type": variable.type,
        "choices": "\n".join(variable.choices),
    }
    form = forms.VariableForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_variable(business=business, data=form.cleaned_data, variable=variable, actor=request.user)
        except ValidationError as exc:
            variable.refresh_from_db()
            _form_errors(form, exc)
        else:
            messages.success(request, _("Variable saved."))
            return redirect("enrollment:variable_list")
    return render(request, "enrollment/variable_edit.html", {"form": form, "variable": variable,
                  "can_edit": _can_edit(request, "variables")}, status=422 if form.errors else 200)  # fmt: skip


@section_required("variables")
@require_POST
def variable_delete(request: HttpRequest, variable_id: int) -> HttpResponse:
    business = _business(request)
    variable = selectors.access_variable(business=business, variable_id=variable_id)
    try:
        services.delete_variable(business=business, variable=variable, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Variable deleted."))
    return redirect("enrollment:variable_list")


# --- Формы → Регистрация ---------------------------------------------------------------------------------


@section_required("forms")
@require_GET
def form_list(request: HttpRequest) -> HttpResponse:
    business = _business(request)
    rows = [(t, selectors.journey_url(t), getattr(t, "registration_form", None)) for t in selectors.templates(business)]
    return render(request, "enrollment/form_list.html", {
        "forms": selectors.registration_forms(business), "templates": rows, "can_edit": _can_edit(request, "forms"),
    })  # fmt: skip


def _preview_context(business: Any, form: forms.RegistrationFormForm) -> dict[str, Any]:
    """What the public page would show for the form being edited (values rendered with sample data)."""
    sample = variables.sample_values(business)
    data = form.data if form.is_bound else form.initial

    def text(name: str) -> str:
        value = data.get(name) or ""
        try:
            variables.validate_text(value, known=form.known)
        except ValidationError:
            return value
        return variables.render(value, sample)

    preview_form = RegistrationForm(business=business, fields=form.chosen, terms_text=text("terms_text"),
                                    marketing_text=text("marketing_text"))  # fmt: skip
    try:
        preview_form.fields = services.clean_form_fields(business, form.chosen)
    except ValidationError:
        preview_form.fields = []
    public_form = forms.public_form_class(business, preview_form)(auto_id="preview_%s")
    logo = form.instance.logo if form.instance is not None else ""
    return {"preview": {"title": text("title"), "description": text("description"), "form": public_form, "logo": logo,
                        "business_name": business.name}}  # fmt: skip


@section_required("forms")
@require_http_methods(["GET", "POST"])
def form_edit(request: HttpRequest, form_id: int | None = None) -> HttpResponse:
    business = _business(request)
    instance = selectors.access_registration_form(business=business, form_id=form_id) if form_id else None
    form = forms.RegistrationFormForm(request.POST or None, request.FILES or None, business=business, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_registration_form(business=business, data=form.cleaned_data, form=instance,
                                                    actor=request.user)  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Registration form saved."))
            return redirect("enrollment:form_edit", form_id=saved.pk)
    context = {
        "form": form,
        "instance": instance,
        "can_edit": _can_edit(request, "forms"),
        **_preview_context(business, form),
    }
    return render(request, "enrollment/form_edit.html", context, status=422 if form.errors else 200)


@section_required("forms")
@require_http_methods(["GET", "POST"])
def form_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx): the public form re-rendered from the builder's current inputs (GET: a new form)."""
    business = _business(request)
    form = forms.RegistrationFormForm(request.POST or None, business=business)
    if form.is_bound:
        form.is_valid()
    return render(request, "enrollment/_form_preview.html", _preview_context(business, form))


# --- Формы → ссылки макетов (template links) --------------------------------------------------------------


@section_required("forms")
@require_http_methods(["GET", "POST"])
def template_link(request: HttpRequest, template_id: int) -> HttpResponse:
    business = _business(request)
    template = selectors.access_template(business=business, template_id=template_id)
    journey = selectors.journey_of(template)
    form = forms.JourneyForm(request.POST or None, instance=journey, business=business)
    if request.method == "POST" and form.is_valid():
        services.save_journey(business=business, template=template, data=form.cleaned_data, actor=request.user)
        messages.success(request, _("Settings saved."))
        return redirect("enrollment:template_link", template_id=template.pk)
    return render(request, "enrollment/template_link.html", {
        "template": template, "journey": journey, "url": selectors.journey_url(template), "form": form,
        "can_edit": _can_edit(request, "forms"),
    }, status=422 if form.errors else 200)  # fmt: skip


def _qr(url: str, kind: str, filename: str) -> HttpResponse:
    qr = segno.make(url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind=kind, scale=10 if kind == "png" else 8, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml" if kind == "svg" else "image/png")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{kind}"'
    return response


@section_required("forms")
@require_GET
def template_qr_png(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.access_template(business=_business(request), template_id=template_id)
    return _qr(selectors.journey_url(template), "png", f"template-{template.pk}")


@section_required("forms")
@require_GET
def template_qr_svg(request: HttpRequest, template_id: int) -> HttpResponse:
    template = selectors.access_template(business=_business(request), template_id=template_id)
    return _qr(selectors.journey_url(template), "svg", f"template-{template.pk}")


# --- Формы → Дизайн верификации / Дизайн отзывов ------------------------------------------------------------


def _design_list(request: HttpRequest, kind: str) -> HttpResponse:
    return render(request, "enrollment/design_list.html", {
        "kind": kind, "designs": selectors.designs(_business(request), kind), "can_edit": _can_edit(request, "forms"),
        "title": PageDesign.Kind(kind).label,
    })  # fmt: skip


def _design_edit(request: HttpRequest, kind: str, design_id: int | None) -> HttpResponse:
    business = _business(request)
    design = selectors.access_design(business=business, kind=kind, design_id=design_id) if design_id else None
    initial = {name: getattr(design, name) for name in services.DESIGN_FIELDS} if design else None
    form = forms.DesignForm(request.POST or None, request.FILES or None, business=business, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            design = services.save_design(business=business, kind=kind, data=form.cleaned_data, design=design,
                                          actor=request.user)  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Design saved."))
            name = (
                "enrollment:verification_design_edit"
                if kind == PageDesign.Kind.VERIFICATION
                else "enrollment:review_design_edit"
            )
            return redirect(name, design_id=design.pk)
    preview = {name: (form.data.get(name) if form.is_bound else (initial or {}).get(name, form.fields[name].initial)) or ""
               for name in services.DESIGN_FIELDS}  # fmt: skip
    return render(request, "enrollment/design_edit.html", {
        "kind": kind, "design": design, "form": form, "can_edit": _can_edit(request, "forms"), "preview": preview,
        "title": PageDesign.Kind(kind).label,
    }, status=422 if form.errors else 200)  # fmt: skip


@section_required("forms")
@require_GET
def verification_design_list(request: HttpRequest) -> HttpResponse:
    return _design_list(request, PageDesign.Kind.VERIFICATION)


@section_required("forms")
@require_http_methods(["GET", "POST"])
def verification_design_edit(request: HttpRequest, design_id: int | None = None) -> HttpResponse:
    return _design_edit(request, PageDesign.Kind.VERIFICATION, design_id)


@section_required("forms")
@require_GET
def review_design_list(request: HttpRequest) -> HttpResponse:
    return _design_list(request, PageDesign.Kind.REVIEW)


@section_required("forms")
@require_http_methods(["GET", "POST"])
def review_design_edit(request: HttpRequest, design_id: int | None = None) -> HttpResponse:
    return _design_edit(request, PageDesign.Kind.REVIEW, design_id)


# --- UTM --------------------------------------------------------------------------------------------------


@section_required("forms")
@require_http_methods(["GET", "POST"])
def utm_list(request: HttpRequest) -> HttpResponse:
    business = _business(request)
    form = forms.UtmLinkForm(request.POST or None, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_utm_link(business=business, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("UTM link created."))
            return redirect("enrollment:utm_list")
    return render(request, "enrollment/utm_list.html", {
        "rows": selectors.utm_rows(business), "form": form, "can_edit": _can_edit(request, "forms"),
        "sources": forms.UtmLinkForm.SOURCES,
    }, status=422 if form.errors else 200)  # fmt: skip


@section_required("forms")
@require_POST
def utm_delete(request: HttpRequest, link_id: int) -> HttpResponse:
    business = _business(request)
    link = selectors.access_utm_link(business=business, link_id=link_id)
    services.delete_utm_link(business=business, link=link, actor=request.user)
    messages.success(request, _("UTM link deleted."))
    return redirect("enrollment:utm_list")


@section_required("forms")
@require_GET
def utm_qr_png(request: HttpRequest, link_id: int) -> HttpResponse:
    link = selectors.access_utm_link(business=_business(request), link_id=link_id)
    return _qr(selectors.utm_url(link), "png", f"utm-{link.token}")


@section_required("forms")
@require_GET
def utm_qr_svg(request: HttpRequest, link_id: int) -> HttpResponse:
    link = selectors.access_utm_link(business=_business(request), link_id=link_id)
    return _qr(selectors.utm_url(link), "svg", f"utm-{link.token}")


# --- Черный список ----------------------------------------------------------------------------------------


@section_required("clients")
@require_http_methods(["GET", "POST"])
def blacklist(request: HttpRequest) -> HttpResponse:
    business = _business(request)
    form = forms.BlacklistForm(request.POST or None, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_to_blacklist(business=business, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The number was added to the blacklist."))
            return redirect("enrollment:blacklist")
    return render(request, "enrollment/blacklist.html", {
        "entries": selectors.blacklist(business), "form": form, "can_edit": _can_edit(request, "clients"),
    }, status=422 if form.errors else 200)  # fmt: skip


@section_required("clients")
@require_POST
def blacklist_remove(request: HttpRequest, entry_id: int) -> HttpResponse:
    business = _business(request)
    entry = selectors.access_blacklist_entry(business=business, entry_id=entry_id)
    services.remove_from_blacklist(business=business, entry=entry, actor=request.user)
    messages.success(request, _("The number was removed from the blacklist."))
    return redirect("enrollment:blacklist")


# --- Удаленные карты, delete, Поделиться ----------------------------------------------------------------------


@section_required("clients")
@require_GET
def deleted_cards(request: HttpRequest) -> HttpResponse:
    return render(request, "enrollment/deleted_cards.html", {
        "cards": selectors.deleted_cards(_business(request)), "can_edit": _can_edit(request, "clients"),
    })  # fmt: skip


@section_required("clients")
@require_POST
def card_delete(request: HttpRequest, card_id: int) -> HttpResponse:
    business = _business(request)
    card = selectors.access_card(business=business, card_id=card_id)
    services.delete_card(business=business, card=card, reason=(request.POST.get("reason") or "")[:500],
                         actor=request.user)  # fmt: skip
    messages.success(request, _("Card %(number)s was moved to deleted cards.") % {"number": card.number})
    return redirect("enrollment:deleted_cards")


@section_required("clients")
@require_POST
def card_restore(request: HttpRequest, card_id: int) -> HttpResponse:
    business = _business(request)
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        services.restore_card(business=business, card=card, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Card %(number)s was restored.") % {"number": card.number})
    return redirect("enrollment:deleted_cards")


@section_required("clients")
@require_POST
def card_share(request: HttpRequest, card_id: int) -> HttpResponse:
    business = _business(request)
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        services.share_card(business=business, card=card, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The restore link was sent by SMS."))
    return redirect("loyalty:client_detail", customer_id=card.customer_id)
