"""Касса / Web-сканер (PRODUCT.md C1, C2, C4): one mobile-first page and an htmx partial per step.

Views are thin: fetch through ``selectors`` (scoped by the request's business), call one service of
the loyalty engine (or of this app for the SMS code), render a partial. Engine errors are shown with
the API's message and status (``code`` as in shared/spec/pos-api.md); nothing is written on error.
Every view carries ``section_required("cashier")``: GET needs view, POST needs edit.
"""

from __future__ import annotations

import re
import secrets
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import retarget

from kopilka.accounts.models import PointOfSale
from kopilka.cards.models import Card
from kopilka.cashier import selectors, services
from kopilka.core.access import section_required
from kopilka.core.converters import parse_id
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.errors import LoyaltyError, ValidationFailed
from kopilka.loyalty.models import Purchase

SECTION = "cashier"
SAFE = ("GET", "HEAD")
MAX_ITEMS = 200
MAX_COUPONS = 20
POS_SESSION_KEY = "kopilka_cashier_pos"


# --- Helpers --------------------------------------------------------------------------------------


def _error(request: HttpRequest, exc: LoyaltyError, *, target: str | None = None) -> HttpResponse:
    response = render(request, "cashier/_error.html", {"error": exc}, status=exc.status)
    if target:
        response = retarget(response, target)
    return response


def _text(value: str | None, limit: int = 255) -> str:
    """Form input without NUL characters (PostgreSQL refuses them in text), trimmed and bounded."""
    return (value or "").replace("\x00", "").strip()[:limit]


def _number(value: str | None, *, field: str = "amount") -> str | None:
    """Form input as the engine's decimal string: ``"1 250,50"`` → ``"1250.50"``; empty → None.

    Exponents and overlong numbers are refused here with the engine's messages (``Decimal`` would
    otherwise raise ``InvalidOperation`` while rounding them).
    """
    text = re.sub(r"\s+", "", _text(value, 64)).replace(",", ".")
    if not text:
        return None
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text):
        raise ValidationFailed(_("Enter a number."), field=field)
    if len(text.split(".")[0].lstrip("+-")) > 12:
        raise ValidationFailed(_("The number is too large."), field=field)
    return text


def _is_zero(text: str) -> bool:
    try:
        return Decimal(text) == 0
    except (InvalidOperation, ValueError):
        return False  # the engine says what is wrong with it


def _new_receipt_id() -> str:
    return f"W-{timezone.localdate():%y%m%d}-{secrets.token_hex(4).upper()}"


def _point_of_sale(request: HttpRequest, raw: str | None) -> PointOfSale | None:
    """The bound point of sale of the cashier; otherwise the one picked on the page (required when the
    business has any)."""
    membership = request.membership  # type: ignore[attr-defined]
    bound = selectors.bound_point_of_sale(membership)
    if bound is not None:
        return bound
    choices = selectors.points_of_sale(request.business)  # type: ignore[attr-defined]
    pos_id = parse_id(raw) if raw else None
    if pos_id is not None:
        pos = choices.filter(pk=pos_id).first()
        if pos is not None:
            request.session[POS_SESSION_KEY] = pos.pk
            return pos
    if choices.exists():
        raise ValidationFailed(_("Choose the point of sale."), field="point_of_sale")
    return None


def _pos_context(request: HttpRequest) -> dict[str, Any]:
    membership = request.membership  # type: ignore[attr-defined]
    bound = selectors.bound_point_of_sale(membership)
    return {
        "bound_pos": bound,
        "pos_choices": [] if bound else list(selectors.points_of_sale(request.business)),  # type: ignore[attr-defined]
        "chosen_pos_id": request.session.get(POS_SESSION_KEY),
    }


def _check_input(request: HttpRequest) -> dict[str, Any]:
    """The check as the engine takes it: amount and/or items, points to redeem, coupon codes."""
    post = request.POST
    skus = post.getlist("item_sku")[: MAX_ITEMS + 1]
    quantities = post.getlist("item_quantity")[: MAX_ITEMS + 1]
    if len(skus) > MAX_ITEMS:
        raise ValidationFailed(_("At most %(n)d items in a check.") % {"n": MAX_ITEMS}, field="items")
    quantities = (quantities + [""] * len(skus))[: len(skus)]
    items = [
        {"sku": _text(sku, 64), "quantity": _number(qty, field=f"items[{i}].quantity") or "1"}
        for i, (sku, qty) in enumerate(zip(skus, quantities, strict=True))
        if _text(sku, 64)
    ]
    coupons = [c[:64] for c in re.split(r"[\s,;]+", _text(post.get("coupons"), 2000)) if c]
    if len(coupons) > MAX_COUPONS:
        raise ValidationFailed(_("Too many coupon codes."), field="coupons")
    redeem_text = _text(post.get("redeem_points"), 64)
    redeem = "max" if redeem_text.lower() == "max" else _number(redeem_text, field="redeem_points")
    return {
        "amount": _number(post.get("amount")),
        "items": items,
        "redeem_points": redeem,
        "coupons": coupons,
    }


def _card_context(request: HttpRequest, card: Card) -> dict[str, Any]:
    business = request.business  # type: ignore[attr-defined]
    balance, level = loyalty.effective_state(card, business, timezone.now())
    return {
        "card": card,
        "balance": balance,
        "level": level,
        "terms": loyalty.terms_for(card, level),
        "coupons": selectors.card_coupons(card),
        "usable": card.status == Card.Status.ACTIVE,
        "receipt_id": _new_receipt_id(),
        "idempotency_key": uuid.uuid4().hex,
        **_pos_context(request),
    }


def _render_card(request: HttpRequest, card: Card, **extra: Any) -> HttpResponse:
    return render(request, "cashier/_card.html", {**_card_context(request, card), **extra})


# --- The page -------------------------------------------------------------------------------------


@section_required(SECTION)
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    return render(
        request,
        "cashier/page.html",
        {"templates": list(selectors.issuable_templates(business)), **_pos_context(request)},
    )


# --- 1. Find a card -------------------------------------------------------------------------------


@section_required(SECTION)
@require_GET
def find_card(request: HttpRequest) -> HttpResponse:
    if not _text(request.GET.get("q")):
        return render(request, "cashier/_hint.html", {"hint": _("Enter the card number, barcode or phone.")})
    try:
        card = selectors.find_card(business=request.business, query=_text(request.GET.get("q")))  # type: ignore[attr-defined]
    except LoyaltyError as exc:
        return _error(request, exc)
    return _render_card(request, card)


@section_required(SECTION)
def card_panel(request: HttpRequest, card_id: int) -> HttpResponse:
    card = selectors.access_card(business=request.business, card_id=card_id)  # type: ignore[attr-defined]
    if request.method not in SAFE:  # after the lookup: another business's card is 404 whatever the method
        return HttpResponseNotAllowed(["GET"])
    return _render_card(request, card)


# --- 2. The check ---------------------------------------------------------------------------------


@section_required(SECTION)
@require_GET
def products(request: HttpRequest) -> JsonResponse:
    found = selectors.search_products(business=request.business, query=_text(request.GET.get("q"), 100))  # type: ignore[attr-defined]
    return JsonResponse(
        {"products": [{"sku": p.sku, "name": p.name, "price": str(p.price), "barcode": p.barcode} for p in found]}
    )


@section_required(SECTION)
@require_POST
def quote(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        check = _check_input(request)
        pos = _point_of_sale(request, request.POST.get("point_of_sale"))
        result = loyalty.quote_purchase(business=business, card=card, point_of_sale=pos, **check)
    except LoyaltyError as exc:
        return _error(request, exc)
    return render(request, "cashier/_quote.html", {"quote": result, "card": card, "redeem": check["redeem_points"]})


@section_required(SECTION)
@require_POST
def confirm(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        check = _check_input(request)
        pos = _point_of_sale(request, request.POST.get("point_of_sale"))
        key = _text(request.POST.get("idempotency_key"))
        purchase = loyalty.confirm_purchase(
            business=business, card=card, point_of_sale=pos, receipt_id=_text(request.POST.get("receipt_id"), 129),
            idempotency_key=key, actor=request.user, **check,
        )  # fmt: skip
    except LoyaltyError as exc:
        return _error(request, exc, target="#confirm-result")
    card.refresh_from_db()
    return retarget(
        render(request, "cashier/_receipt.html", {"purchase": purchase, "card": card}),
        "#cashier-card",
    )


# --- 3. Find a past purchase and refund it --------------------------------------------------------


@section_required(SECTION)
@require_GET
def purchases(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    query = _text(request.GET.get("q"), 128)
    found = list(
        selectors.find_purchases(
            business=business, query=query,
            point_of_sale=selectors.bound_point_of_sale(request.membership),  # type: ignore[attr-defined]
        )
    )  # fmt: skip
    return render(request, "cashier/_purchases.html", {"purchases": found, "query": query.strip()})


def _purchase_context(purchase: Purchase) -> dict[str, Any]:
    lines = list(purchase.lines.all())
    return {
        "purchase": purchase,
        "left": purchase.amount - purchase.refunded_amount,
        "lines": [ln for ln in lines if ln.sku],
        "refunds": list(purchase.refunds.all()),
        "idempotency_key": uuid.uuid4().hex,
    }


@section_required(SECTION)
def purchase_detail(request: HttpRequest, purchase_id: int) -> HttpResponse:
    purchase = selectors.access_purchase(business=request.business, purchase_id=purchase_id)  # type: ignore[attr-defined]
    if request.method not in SAFE:
        return HttpResponseNotAllowed(["GET"])
    return render(request, "cashier/_purchase.html", _purchase_context(purchase))


def _refund_items(request: HttpRequest) -> list[dict[str, str]]:
    """The lines being returned: SKU and a quantity above zero (empty or zero rows are skipped)."""
    skus = request.POST.getlist("refund_sku")[:MAX_ITEMS]
    quantities = request.POST.getlist("refund_quantity")[:MAX_ITEMS]
    items = []
    for i, (sku, qty) in enumerate(zip(skus, quantities, strict=False)):
        quantity = _number(qty, field=f"items[{i}].quantity")
        if _text(sku, 64) and quantity and not _is_zero(quantity):
            items.append({"sku": _text(sku, 64), "quantity": quantity})
    return items


@section_required(SECTION)
@require_POST
def refund(request: HttpRequest, purchase_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    purchase = selectors.access_purchase(business=business, purchase_id=purchase_id)
    try:
        done = loyalty.refund_purchase(
            business=business, purchase=purchase, amount=_number(request.POST.get("amount")),
            items=_refund_items(request) or None, idempotency_key=_text(request.POST.get("idempotency_key")),
            actor=request.user,
        )  # fmt: skip
    except LoyaltyError as exc:
        return _error(request, exc, target="#refund-result")
    card = Card.objects.get(pk=purchase.card_id)
    purchase.refresh_from_db()
    return retarget(
        render(
            request, "cashier/_refunded.html",
            {"refund": done, "purchase": purchase, "card": card, "left": purchase.amount - purchase.refunded_amount},
        ),
        "#refund-panel",
    )  # fmt: skip


# --- 4. Issue a card at the till ------------------------------------------------------------------


@section_required(SECTION)
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    if request.method == "GET":  # a fresh form, for the next customer
        return render(request, "cashier/_issue_form.html", {"templates": list(selectors.issuable_templates(business))})
    post = request.POST
    template_id = parse_id(post.get("template"))
    template = selectors.issuable_templates(business).filter(pk=template_id).first() if template_id else None
    try:
        if template is None:
            raise ValidationFailed(_("Choose the card template."), field="template")
        issued = services.issue_card_at_till(
            business=business, template=template, phone=_text(post.get("phone"), 64), first_name=_text(post.get("first_name"), 150),
            mode=_text(post.get("mode"), 16), actor=request.user,
        )  # fmt: skip
    except LoyaltyError as exc:
        return _error(request, exc, target="#issue-result")
    name = "cashier/_verify.html" if issued.mode == services.ONLINE else "cashier/_issued_offline.html"
    return retarget(render(request, name, {"card": issued.card}), "#issue-panel")


@section_required(SECTION)
@require_POST
def resend_code(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        services.send_verification_code(business=business, card=card, actor=request.user)
    except LoyaltyError as exc:
        return _error(request, exc, target="#verify-result")
    return retarget(render(request, "cashier/_verify.html", {"card": card, "resent": True}), "#issue-panel")


@section_required(SECTION)
@require_POST
def verify(request: HttpRequest, card_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    card = selectors.access_card(business=business, card_id=card_id)
    try:
        card = services.check_verification_code(
            business=business, card=card, code=_text(request.POST.get("code"), 16), actor=request.user
        )
    except LoyaltyError as exc:
        return _error(request, exc, target="#verify-result")
    return retarget(render(request, "cashier/_verified.html", {"card": card}), "#issue-panel")
