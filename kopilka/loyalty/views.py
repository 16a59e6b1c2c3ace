"""Cabinet pages of the loyalty engine: Тип механики, Лояльность (templates, products, coupons,
certificates), Клиенты (list, profile, balance and level changes), История → Транзакции (+ CSV).

Views are thin: fetch with ``queries.access_*`` (404 across businesses), validate with a form, call
one service, redirect. Every view carries ``section_required``: GET needs view, POST needs edit.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kopilka.accounts.views.auth import _form_errors
from kopilka.core import pii
from kopilka.core.access import section_required
from kopilka.core.permissions import Level
from kopilka.loyalty import queries, services, setup_services
from kopilka.loyalty.errors import LoyaltyError
from kopilka.loyalty.forms import (
    BalanceForm,
    CardCreateForm,
    CardTemplateForm,
    CertificateForm,
    ClientFilterForm,
    CouponGroupForm,
    GenerateCodesForm,
    LevelChangeForm,
    LevelFormSet,
    MechanicForm,
    ProductImportForm,
    TransactionFilterForm,
    level_rows,
)
from kopilka.loyalty.models import Mechanic

PAGE_SIZE = 50


def _can_edit(request: HttpRequest, section: str) -> bool:
    return bool(request.membership.can(section, Level.EDIT))  # type: ignore[attr-defined]


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _service_errors(form: Any, exc: ValidationError | LoyaltyError) -> None:
    if isinstance(exc, LoyaltyError):
        exc = setup_services.loyalty_error_to_validation(exc)
    _form_errors(form, exc)


# --- Тип механики -----------------------------------------------------------------------------------


@section_required("loyalty")
@require_GET
def mechanic_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "loyalty/mechanic_list.html",
        {"mechanics": queries.mechanics(request.business), "can_edit": _can_edit(request, "loyalty")},  # type: ignore[attr-defined]
    )  # fmt: skip


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def mechanic_edit(request: HttpRequest, mechanic_id: int | None = None) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    mechanic = queries.access_mechanic(business=business, mechanic_id=mechanic_id) if mechanic_id else None
    # The form edits its own copy; the service compares the stored row with the new values.
    form = MechanicForm(
        request.POST or None, instance=Mechanic.objects.get(pk=mechanic.pk) if mechanic else None
    )
    initial = [
        {"id": lv.pk, "name": lv.name, "threshold": lv.threshold, "accrual_percent": lv.accrual_percent,
         "redeem_max_percent": lv.redeem_max_percent, "discount_percent": lv.discount_percent}
        for lv in (mechanic.levels.order_by("threshold") if mechanic else [])
    ]  # fmt: skip
    if not initial:
        initial = [{"name": _("Base"), "threshold": 0}]
    formset = LevelFormSet(request.POST or None, initial=initial, prefix="levels")
    level_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            saved = setup_services.save_mechanic(
                business=business, data=form.cleaned_data, levels=level_rows(formset), mechanic=mechanic,
                actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                level_errors = [str(msg) for err in exc.error_dict.pop("levels", []) for msg in err.messages]
                if exc.error_dict:
                    _form_errors(form, exc)
            else:
                _form_errors(form, exc)
        else:
            messages.success(request, _("Mechanic “%(name)s” saved.") % {"name": saved.name})
            return redirect("loyalty:mechanic_list")
    return render(
        request, "loyalty/mechanic_edit.html",
        {"form": form, "formset": formset, "mechanic": mechanic, "level_errors": level_errors,
         "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


# --- Лояльность: card templates -------------------------------------------------------------------


@section_required("loyalty")
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "loyalty/template_list.html",
        {"templates": queries.card_templates(request.business), "can_edit": _can_edit(request, "loyalty")},  # type: ignore[attr-defined]
    )  # fmt: skip


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int | None = None) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    template = queries.access_card_template(business=business, template_id=template_id) if template_id else None
    copy = type(template).objects.get(pk=template.pk) if template else None
    form = CardTemplateForm(request.POST or None, instance=copy, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            saved = setup_services.save_card_template(
                business=business, data=form.cleaned_data, template=template, actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Card template “%(name)s” saved.") % {"name": saved.name})
            return redirect("loyalty:template_list")
    return render(
        request, "loyalty/template_edit.html",
        {"form": form, "template": template, "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


# --- Лояльность: products ---------------------------------------------------------------------------


@section_required("loyalty")
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    return render(
        request, "loyalty/product_list.html",
        {"page": _page(request, queries.products(request.business, search=search)), "q": search,  # type: ignore[attr-defined]
         "form": ProductImportForm(), "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def product_import(request: HttpRequest) -> HttpResponse:
    form = ProductImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = setup_services.import_products(
                business=request.business, content=form.cleaned_data["file"].read(), actor=request.user  # type: ignore[attr-defined]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            if report.written:
                messages.success(
                    request,
                    _("Imported: %(created)d new, %(updated)d updated.") % {"created": report.created, "updated": report.updated},
                )
            else:
                messages.error(request, _("The file has errors; nothing was imported. Fix the rows below and upload it again."))
    return render(request, "loyalty/product_import.html", {"form": form, "report": report})


# --- Лояльность: coupon groups ----------------------------------------------------------------------


@section_required("loyalty")
@require_GET
def coupon_group_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "loyalty/coupon_group_list.html",
        {"groups": queries.coupon_groups(request.business), "can_edit": _can_edit(request, "loyalty")},  # type: ignore[attr-defined]
    )  # fmt: skip


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def coupon_group_edit(request: HttpRequest, group_id: int | None = None) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    group = queries.access_coupon_group(business=business, group_id=group_id) if group_id else None
    copy = type(group).objects.get(pk=group.pk) if group else None
    initial = {}
    if group is not None:
        initial = {"valid_from": timezone.localdate(group.valid_from) if group.valid_from else None,
                   "valid_until": timezone.localdate(group.valid_until) if group.valid_until else None}  # fmt: skip
    form = CouponGroupForm(request.POST or None, instance=copy, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = setup_services.save_coupon_group(
                business=business, data=form.service_data(), group=group, actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Coupon group “%(name)s” saved.") % {"name": saved.name})
            return redirect("loyalty:coupon_group_detail", group_id=saved.pk)
    return render(
        request, "loyalty/coupon_group_edit.html",
        {"form": form, "group": group, "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


@section_required("loyalty")
@require_GET
def coupon_group_detail(request: HttpRequest, group_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    group = queries.access_coupon_group(business=business, group_id=group_id)
    return render(
        request, "loyalty/coupon_group_detail.html",
        {"group": group, "page": _page(request, queries.coupons(business, group)),
         "generate_form": GenerateCodesForm(), "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


@section_required("loyalty")
@require_POST
def coupon_generate(request: HttpRequest, group_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    group = queries.access_coupon_group(business=business, group_id=group_id)
    form = GenerateCodesForm(request.POST)
    if form.is_valid():
        try:
            made = setup_services.generate_coupon_codes(
                business=business, group=group, count=form.cleaned_data["count"], actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("%(count)d codes generated.") % {"count": made})
            return redirect("loyalty:coupon_group_detail", group_id=group.pk)
    return render(
        request, "loyalty/coupon_group_detail.html",
        {"group": group, "page": _page(request, queries.coupons(business, group)), "generate_form": form,
         "can_edit": True},
        status=422,
    )  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # a BOM, so Excel reads UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def _csv_response(filename: str, header: list[str], rows: Iterator[list[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@section_required("loyalty")
@require_GET
def coupon_export(request: HttpRequest, group_id: int) -> StreamingHttpResponse:
    business = request.business  # type: ignore[attr-defined]
    group = queries.access_coupon_group(business=business, group_id=group_id)

    def rows() -> Iterator[list[Any]]:
        for c in queries.coupons(business, group).iterator(chunk_size=2000):
            yield [c.code, _("redeemed") if c.redeemed_at else _("free"),
                   timezone.localtime(c.redeemed_at).strftime("%Y-%m-%d %H:%M") if c.redeemed_at else "",
                   c.redeemed_card.number if c.redeemed_card else "", c.card.number if c.card else ""]  # fmt: skip

    header = [_("Code"), _("Status"), _("Redeemed"), _("Redeemed by card"), _("Issued to card")]
    return _csv_response(f"coupons-{group.pk}.csv", header, rows())


# --- Лояльность: gift certificates ------------------------------------------------------------------


@section_required("loyalty")
@require_http_methods(["GET", "POST"])
def certificate_list(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    form = CertificateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            certificate = setup_services.create_gift_certificate(
                business=business, amount=form.cleaned_data["amount"], expires_at=form.expires_at(), actor=request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Gift certificate %(code)s created.") % {"code": certificate.code})
            return redirect("loyalty:certificate_list")
    return render(
        request, "loyalty/certificate_list.html",
        {"page": _page(request, queries.gift_certificates(business)), "form": form,
         "can_edit": _can_edit(request, "loyalty")},
    )  # fmt: skip


# --- Клиенты ------------------------------------------------------------------------------------------


@section_required("clients")
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    form = ClientFilterForm(request.GET or None, business=business)
    filters = queries.ClientFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = queries.ClientFilters(
            search=data["q"], template_id=data["template"].pk if data["template"] else None,
            level_id=data["level"].pk if data["level"] else None, status=data["status"],
        )  # fmt: skip
    return render(
        request, "loyalty/client_list.html",
        {"form": form, "page": _page(request, queries.clients(business, filters)),
         "can_edit": _can_edit(request, "clients")},
    )  # fmt: skip


@section_required("clients")
@require_http_methods(["GET", "POST"])
def card_create(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    form = CardCreateForm(request.POST or None, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            card = setup_services.create_card_by_hand(
                business=business, template=form.cleaned_data["template"], phone=form.cleaned_data["phone"],
                first_name=form.cleaned_data["first_name"], actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Card %(number)s created.") % {"number": card.number})
            return redirect("loyalty:client_detail", customer_id=card.customer_id)
    return render(request, "loyalty/card_create.html", {"form": form})


def _client_page(request: HttpRequest, customer: Any, bound: dict[int, dict[str, Any]] | None = None,
                 status: int = 200) -> HttpResponse:  # fmt: skip
    business = request.business  # type: ignore[attr-defined]
    bound = bound or {}
    cards = []
    for card in queries.customer_cards(business, customer):
        forms = bound.get(card.pk, {})
        cards.append({
            "card": card,
            "balance_form": forms.get("balance") or BalanceForm(prefix=f"b{card.pk}"),
            "level_form": forms.get("level") or LevelChangeForm(prefix=f"l{card.pk}", card=card,
                                                                initial={"level": card.level_id}),
        })  # fmt: skip
    return render(
        request, "loyalty/client_detail.html",
        {"customer": customer, "cards": cards,
         "ledger": Paginator(queries.customer_ledger(business, customer), PAGE_SIZE).get_page(request.GET.get("lpage")),
         "purchases": Paginator(queries.customer_purchases(business, customer), PAGE_SIZE).get_page(request.GET.get("ppage")),
         "audit": queries.customer_audit(business, customer)[:100],
         "can_edit": _can_edit(request, "clients")},
        status=status,
    )  # fmt: skip


@section_required("clients")
@require_GET
def client_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = queries.access_customer(business=request.business, customer_id=customer_id)  # type: ignore[attr-defined]
    return _client_page(request, customer)


@section_required("clients")
@require_POST
def card_balance(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = queries.access_card(business=business, card_id=card_id)
    form = BalanceForm(request.POST, prefix=f"b{card.pk}")
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        try:
            services.adjust_points(
                business=business, card=card, amount=f"{amount:+}", reason=form.cleaned_data["reason"],
                actor=request.user,
            )  # fmt: skip
        except LoyaltyError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The balance of card %(number)s was changed.") % {"number": card.number})
            return redirect("loyalty:client_detail", customer_id=card.customer_id)
    return _client_page(request, card.customer, {card.pk: {"balance": form}}, status=422)


@section_required("clients")
@require_POST
def card_level(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = queries.access_card(business=business, card_id=card_id)
    form = LevelChangeForm(request.POST, prefix=f"l{card.pk}", card=card)
    if form.is_valid():
        try:
            services.change_level(
                business=business, card=card, level=form.cleaned_data["level"], reason=form.cleaned_data["reason"],
                actor=request.user,
            )  # fmt: skip
        except LoyaltyError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("The level of card %(number)s was changed.") % {"number": card.number})
            return redirect("loyalty:client_detail", customer_id=card.customer_id)
    return _client_page(request, card.customer, {card.pk: {"level": form}}, status=422)


# --- История → Транзакции -------------------------------------------------------------------------------


def _transaction_filters(request: HttpRequest) -> tuple[TransactionFilterForm, queries.TransactionFilters]:
    form = TransactionFilterForm(request.GET or None, business=request.business)  # type: ignore[attr-defined]
    if not form.is_valid():
        return form, queries.TransactionFilters()
    data = form.cleaned_data
    return form, queries.TransactionFilters(
        date_from=data["date_from"], date_to=data["date_to"],
        template_id=data["template"].pk if data["template"] else None,
        point_of_sale_id=data["point_of_sale"].pk if data["point_of_sale"] else None,
        kind=data["kind"], amount_min=data["amount_min"], amount_max=data["amount_max"],
    )  # fmt: skip


@section_required("transactions")
@require_GET
def transaction_list(request: HttpRequest) -> HttpResponse:
    form, filters = _transaction_filters(request)
    page = _page(request, queries.transactions(request.business, filters))  # type: ignore[attr-defined]
    return render(request, "loyalty/transaction_list.html", {"form": form, "page": page})


@section_required("transactions")
@require_GET
def transaction_export(request: HttpRequest) -> HttpResponseBase:
    form, filters = _transaction_filters(request)
    if request.GET and not form.is_valid():
        page = _page(request, queries.transactions(request.business, filters).none())  # type: ignore[attr-defined]
        return render(request, "loyalty/transaction_list.html", {"form": form, "page": page}, status=422)
    full = bool(request.membership.sees_personal_data)  # type: ignore[attr-defined]
    qs = queries.transactions(request.business, filters)  # type: ignore[attr-defined]

    def personal(value: Any, mask: Any) -> str:
        return ("" if value is None else str(value)) if full else mask(value)

    def rows() -> Iterator[list[Any]]:
        for e in queries.export_rows(qs):
            customer = e.card.customer
            name = f"{customer.first_name} {customer.last_name}".strip()
            purchase = e.purchase
            yield [
                timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), e.card.number,
                personal(name, pii.mask_name), personal(customer.phone, pii.mask_phone), e.card.template.name,
                e.point_of_sale.name if e.point_of_sale else "", e.get_kind_display(), f"{e.amount:.2f}",
                f"{e.balance_after:.2f}", f"{purchase.amount:.2f}" if purchase else "",
                purchase.receipt_id if purchase else "", e.reason, e.actor_label,
            ]  # fmt: skip

    header = [_("Date"), _("Card"), _("Name"), _("Phone"), _("Card template"), _("Point of sale"), _("Action"),
              _("Points"), _("Balance after"), _("Check amount"), _("Receipt"), _("Reason"), _("Who")]  # fmt: skip
    return _csv_response(f"transactions-{timezone.localdate():%Y-%m-%d}.csv", header, rows())
