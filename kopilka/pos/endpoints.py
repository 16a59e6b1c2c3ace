"""The endpoints of shared/spec/pos-api.md: a thin layer over the loyalty services.

Each route fetches within the key's business, calls one service, and answers with the schema of the
contract. Domain errors (``kopilka.loyalty.errors``) become problem+json with their own ``code``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema
from pydantic import BeforeValidator, Field

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import selectors as loyalty_selectors
from kopilka.loyalty import services as loyalty
from kopilka.loyalty.actors import Actor
from kopilka.loyalty.events import emit
from kopilka.loyalty.models import Coupon, LedgerEntry, Purchase, Refund
from kopilka.pos.auth import api_key
from kopilka.pos.idempotency import HEADER, idempotent
from kopilka.pos.links import card_links
from kopilka.pos.models import ApiKey
from kopilka.pos.problems import ApiError
from kopilka.pos.schemas import InputSchema, problems

# --- Input types ------------------------------------------------------------------------------


DECIMAL = re.compile(r"^[+-]?\d{1,15}(\.\d{1,6})?$")


def _decimal_string(value: Any) -> str:
    if isinstance(value, bool | float):
        raise ValueError("send amounts as decimal strings, e.g. \"1250.00\"")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not DECIMAL.match(value.strip()):
        raise ValueError("must be a decimal string such as \"1250.00\"")
    return value.strip()


def _redeem(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() == "max":
        return "max"
    return _decimal_string(value)


DecimalStr = Annotated[str, BeforeValidator(_decimal_string), Field(examples=["1250.00"])]
RedeemStr = Annotated[str, BeforeValidator(_redeem), Field(examples=["100.00", "max"])]
CardCode = Annotated[str, Field(min_length=1, max_length=128)]


class PhoneRef(InputSchema):
    phone: str = Field(min_length=1, max_length=32)


class LineIn(InputSchema):
    sku: str = Field("", max_length=64)
    name: str = Field("", max_length=200)
    quantity: DecimalStr = "1"
    price: DecimalStr | None = None  # the catalogue price of the SKU when left out


class IdentifyIn(InputSchema):
    card: CardCode | None = None
    phone: str | None = Field(None, max_length=32)


class QuoteIn(InputSchema):
    card: CardCode | PhoneRef | None = None
    phone: str | None = Field(None, max_length=32)
    point_of_sale: str | int | None = None
    amount: DecimalStr | None = None
    items: list[LineIn] | None = Field(None, max_length=500)
    redeem_points: RedeemStr | None = None
    coupons: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)


class PurchaseIn(QuoteIn):
    receipt_id: str = Field(min_length=1, max_length=128)


class RefundItemIn(InputSchema):
    sku: str = Field(min_length=1, max_length=64)
    quantity: DecimalStr = "1"


class RefundIn(InputSchema):
    amount: DecimalStr | None = None
    items: list[RefundItemIn] | None = Field(None, max_length=500)


class PointsIn(InputSchema):
    amount: Annotated[str, Field(min_length=1, max_length=32, examples=["-50.00"])]
    reason: str = Field(min_length=1, max_length=500)


class EventIn(InputSchema):
    card: CardCode | PhoneRef
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    properties: dict[str, Any] = Field(default_factory=dict)


class CardFieldsIn(InputSchema):
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    birth_date: str = Field("", max_length=10)
    email: str = Field("", max_length=254)


class IssueIn(InputSchema):
    template: int
    phone: str = Field(min_length=1, max_length=32)
    fields: CardFieldsIn = Field(default_factory=lambda: CardFieldsIn.model_validate({}))
    mode: Literal["online", "offline"] = "online"


class VerifyIn(InputSchema):
    code: str = Field(min_length=1, max_length=8)


# --- Output types -----------------------------------------------------------------------------


class TemplateOut(Schema):
    id: int
    name: str
    type: str


class CustomerOut(Schema):
    id: int
    first_name: str
    phone: str


class LevelOut(Schema):
    name: str
    discount_percent: str
    accrual_percent: str
    redeem_max_percent: str


class CouponOut(Schema):
    code: str
    title: str


class CardLinksOut(Schema):
    card_page: str | None = None
    apple_pass: str | None = None
    google_save: str | None = None


class CardOut(Schema):
    number: str
    template: TemplateOut
    status: str
    customer: CustomerOut
    balance: str
    pending_points: str
    level: LevelOut | None
    stamps: int | None
    coupons: list[CouponOut]
    links: CardLinksOut


class QuoteLineOut(Schema):
    sku: str
    name: str
    quantity: str
    price: str
    total: str
    discount: str
    points_redeemed: str
    payable: str
    points: str


class QuoteOut(Schema):
    amount: str
    discount: str
    points_redeemed: str
    points_to_accrue: str
    payable: str
    max_redeemable: str
    coupons_applied: list[str]
    stamps_to_add: int
    lines: list[QuoteLineOut]


class RefundOut(Schema):
    id: str
    purchase: str
    amount: str
    points_returned: str
    points_taken_back: str
    points_shortfall: str
    created_at: str


class PurchaseOut(Schema):
    id: str
    receipt_id: str
    card: str
    point_of_sale: str | None
    amount: str
    discount: str
    points_redeemed: str
    points_accrued: str
    payable: str
    balance_after: str
    stamps_added: int
    created_at: str
    status: str
    refunds: list[RefundOut]


class LedgerEntryOut(Schema):
    id: int
    card: str
    kind: str
    amount: str
    balance_after: str
    reason: str
    created_at: str


class IssuedOut(Schema):
    card: CardOut
    verification: str


class EventAcceptedOut(Schema):
    id: str
    status: str


# --- Helpers ----------------------------------------------------------------------------------


def _s(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def _mask(phone: str) -> str:
    return phone[:5] + "***" + phone[-4:] if len(phone) > 9 else "***"


def _key(request: HttpRequest) -> ApiKey:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _business(request: HttpRequest) -> Business:
    return _key(request).business


def _actor(request: HttpRequest, point_of_sale: PointOfSale | None = None) -> Actor:
    key = _key(request)
    where = f" @{point_of_sale.code}" if point_of_sale else ""
    return Actor(label=f"api:{key.name} ({key.prefix}){where}")


def _respond(status: int, schema: type[Schema], data: Any) -> HttpResponse:
    body = schema.model_validate(data).model_dump_json()
    return HttpResponse(body, status=status, content_type="application/json; charset=utf-8")


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", message, errors=[{"field": field, "message": message}])


def _point_of_sale(request: HttpRequest, given: str | int | None) -> PointOfSale | None:
    key = _key(request)
    bound = key.point_of_sale
    if given in (None, ""):
        return bound
    points = PointOfSale.objects.filter(business_id=key.business_id, is_active=True)
    text = str(given).strip()
    pos = points.filter(code=text).first()
    if pos is None and text.isdigit() and len(text) < 18:
        pos = points.filter(pk=int(text)).first()
    if pos is None:
        raise _invalid("point_of_sale", _("Unknown point of sale."))
    if bound is not None and pos.pk != bound.pk:
        raise ApiError(403, "forbidden", _("This API key is bound to another point of sale."))
    return pos


def _card(business: Business, card: str | PhoneRef | None, phone: str | None = None) -> Card:
    code = None
    if isinstance(card, PhoneRef):
        phone = card.phone
    else:
        code = card
    if code:
        return loyalty_selectors.card_by_code(business=business, code=code)
    if phone:
        return loyalty_selectors.card_by_phone(business=business, phone=phone)
    raise _invalid("card", _("Give the card number (or barcode) or the phone."))


def _card_by_number(business: Business, number: str) -> Card:
    return loyalty_selectors.card_by_code(business=business, code=number)


def card_data(card: Card) -> dict[str, Any]:
    business = card.business
    balance, level = loyalty.effective_state(card, business, timezone.now())
    coupons = (
        Coupon.objects.filter(business_id=card.business_id, card=card, redeemed_at__isnull=True, group__is_active=True)
        .select_related("group")
        .order_by("id")[:50]
    )
    customer = card.customer
    assert customer is not None  # every card belongs to a customer
    return {
        "number": card.number,
        "template": {"id": card.template_id, "name": card.template.name, "type": card.template.type},
        "status": card.status,
        "customer": {"id": customer.pk, "first_name": customer.first_name, "phone": _mask(customer.phone)},
        "balance": _s(balance),
        "pending_points": _s(card.pending_points),
        "level": {
            "name": level.name,
            "discount_percent": f"{level.discount_percent.normalize():f}",
            "accrual_percent": f"{level.accrual_percent.normalize():f}",
            "redeem_max_percent": f"{level.redeem_max_percent.normalize():f}",
        }
        if level is not None
        else None,
        "stamps": card.stamps if card.template.type == CardTemplate.Type.STAMP else None,
        "coupons": [{"code": c.code, "title": c.group.name} for c in coupons],
        "links": card_links(card),
    }


def refund_data(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.public_id,
        "purchase": refund.purchase.public_id,
        "amount": _s(refund.amount),
        "points_returned": _s(refund.points_returned),
        "points_taken_back": _s(refund.points_taken_back),
        "points_shortfall": _s(refund.points_shortfall),
        "created_at": refund.created_at.isoformat(),
    }


def purchase_data(purchase: Purchase) -> dict[str, Any]:
    pos = purchase.point_of_sale
    return {
        "id": purchase.public_id,
        "receipt_id": purchase.receipt_id,
        "card": purchase.card.number,
        "point_of_sale": pos.code if pos else None,
        "amount": _s(purchase.amount),
        "discount": _s(purchase.discount),
        "points_redeemed": _s(purchase.points_redeemed),
        "points_accrued": _s(purchase.points_accrued),
        "payable": _s(purchase.payable),
        "balance_after": _s(purchase.balance_after),
        "stamps_added": purchase.stamps_added,
        "created_at": purchase.created_at.isoformat(),
        "status": purchase.status,
        "refunds": []
        if getattr(purchase, "_kopilka_created", False)  # just confirmed by this request: no refunds to read
        else [refund_data(r) for r in purchase.refunds.select_related("purchase").order_by("created_at", "id")],
    }


def _items(items: list[LineIn] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [i.model_dump() for i in items]


# --- Routes -----------------------------------------------------------------------------------

router = Router(tags=["pos"])


@router.get("/templates", response={200: list[TemplateOut], **problems()}, auth=api_key(), url_name="templates")
def templates(request: HttpRequest) -> list[dict[str, Any]]:
    """The card templates a till may issue."""
    rows = CardTemplate.objects.filter(business_id=_key(request).business_id, is_active=True).order_by("id")
    return [{"id": t.pk, "name": t.name, "type": t.type} for t in rows]


@router.post("/cards/identify", response={200: CardOut, **problems(404, 422)}, auth=api_key(), url_name="identify")
def identify(request: HttpRequest, payload: IdentifyIn) -> dict[str, Any]:
    """Find a card by number, barcode payload or the customer's phone. Changes nothing."""
    return card_data(_card(_business(request), payload.card, payload.phone))


@router.get(
    "/cards/{card_number}", response={200: CardOut, **problems(404, 422)}, auth=api_key(), url_name="card",
)  # fmt: skip
def card(request: HttpRequest, card_number: Annotated[str, Path(max_length=128)]) -> dict[str, Any]:
    """A card by its number or barcode payload."""
    return card_data(_card_by_number(_business(request), card_number))


@router.post(
    "/purchases/calculate", response={200: QuoteOut, **problems(403, 404, 409, 422)},
    auth=api_key("purchases"), url_name="calculate",
)  # fmt: skip
def calculate(request: HttpRequest, payload: QuoteIn) -> dict[str, Any]:
    """Price a check for the card: discount, points to redeem and to accrue. Changes nothing."""
    business = _business(request)
    pos = _point_of_sale(request, payload.point_of_sale)
    found = _card(business, payload.card, payload.phone)
    quote = loyalty.quote_purchase(
        business=business, card=found, amount=payload.amount, items=_items(payload.items),
        redeem_points=payload.redeem_points, coupons=payload.coupons, point_of_sale=pos,
    )  # fmt: skip
    return {
        "amount": _s(quote.amount),
        "discount": _s(quote.discount),
        "points_redeemed": _s(quote.points_redeemed),
        "points_to_accrue": _s(quote.points_to_accrue),
        "payable": _s(quote.payable),
        "max_redeemable": _s(quote.max_redeemable),
        "coupons_applied": list(quote.coupons_applied),
        "stamps_to_add": quote.stamps_to_add,
        "lines": [
            {"sku": ln.sku, "name": ln.name, "quantity": f"{ln.quantity.normalize():f}", "price": _s(ln.price),
             "total": _s(ln.total), "discount": _s(ln.discount), "points_redeemed": _s(ln.points_redeemed),
             "payable": _s(ln.payable), "points": _s(ln.points)}
            for ln in quote.lines
        ],  # fmt: skip
    }


@router.post(
    "/purchases", response={201: PurchaseOut, **problems(403, 404, 409, 422)},
    auth=api_key("purchases"), url_name="purchases",
)  # fmt: skip
@idempotent
def confirm(request: HttpRequest, payload: PurchaseIn) -> HttpResponse:
    """Confirm a purchase: discount, redemption, accrual, coupons and stamps in one transaction."""
    business = _business(request)
    pos = _point_of_sale(request, payload.point_of_sale)
    found = _card(business, payload.card, payload.phone)
    purchase = loyalty.confirm_purchase(
        business=business, card=found, amount=payload.amount, items=_items(payload.items),
        redeem_points=payload.redeem_points, coupons=payload.coupons, point_of_sale=pos,
        receipt_id=payload.receipt_id, idempotency_key=request.headers.get(HEADER, ""), actor=_actor(request, pos),
    )  # fmt: skip
    return _respond(201, PurchaseOut, purchase_data(purchase))


@router.get(
    "/purchases/{purchase_id}", response={200: PurchaseOut, **problems(404, 422)}, auth=api_key(), url_name="purchase",
)  # fmt: skip
def purchase(request: HttpRequest, purchase_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """A purchase with its refunds."""
    found = loyalty_selectors.purchase_by_public_id(business=_business(request), public_id=purchase_id)
    return purchase_data(found)


@router.post(
    "/purchases/{purchase_id}/refunds", response={201: RefundOut, **problems(403, 404, 409, 422)},
    auth=api_key("refunds"), url_name="refunds",
)  # fmt: skip
@idempotent
def refund(request: HttpRequest, purchase_id: Annotated[str, Path(max_length=64)], payload: RefundIn) -> HttpResponse:
    """Refund part (or all) of a purchase by amount or by items."""
    business = _business(request)
    found = loyalty_selectors.purchase_by_public_id(business=business, public_id=purchase_id)
    made = loyalty.refund_purchase(
        business=business, purchase=found, amount=payload.amount,
        items=None if payload.items is None else [i.model_dump() for i in payload.items],
        idempotency_key=request.headers.get(HEADER, ""), actor=_actor(request, _key(request).point_of_sale),
    )  # fmt: skip
    return _respond(201, RefundOut, refund_data(made))


@router.post(
    "/cards/{card_number}/points", response={201: LedgerEntryOut, **problems(403, 404, 409, 422)},
    auth=api_key("points_adjust"), url_name="points",
)  # fmt: skip
@idempotent
def points(request: HttpRequest, card_number: Annotated[str, Path(max_length=128)], payload: PointsIn) -> HttpResponse:
    """Add (positive) or remove (negative) points by hand; the reason is required."""
    business = _business(request)
    found = _card_by_number(business, card_number)
    pos = _key(request).point_of_sale
    entry: LedgerEntry = loyalty.adjust_points(
        business=business, card=found, amount=payload.amount, reason=payload.reason, point_of_sale=pos,
        actor=_actor(request, pos),
    )  # fmt: skip
    return _respond(201, LedgerEntryOut, {
        "id": entry.pk, "card": found.number, "kind": entry.kind, "amount": _s(entry.amount),
        "balance_after": _s(entry.balance_after), "reason": entry.reason, "created_at": entry.created_at.isoformat(),
    })  # fmt: skip


@router.post(
    "/cards", response={201: IssuedOut, **problems(403, 422)}, auth=api_key("cards_issue"), url_name="issue",
)  # fmt: skip
@idempotent
def issue(request: HttpRequest, payload: IssueIn) -> HttpResponse:
    """Issue a card at the till: online sends a 4-digit code by SMS, offline sends the registration link."""
    from kopilka.cashier import services as cashier  # the web cashier's issuance, shared with the API

    business = _business(request)
    template = CardTemplate.objects.filter(business=business, pk=payload.template).first()
    if template is None:
        raise _invalid("template", _("Unknown card template."))
    issued = cashier.issue_card_at_till(
        business=business, template=template, phone=payload.phone, first_name=payload.fields.first_name,
        mode=payload.mode, actor=_actor(request, _key(request).point_of_sale),
    )  # fmt: skip
    verification = "sms_sent" if payload.mode == "online" else "link_sent"
    return _respond(201, IssuedOut, {"card": card_data(issued.card), "verification": verification})


@router.post(
    "/cards/{card_number}/verify", response={200: CardOut, **problems(403, 404, 409, 422)},
    auth=api_key("cards_issue"), url_name="verify",
)  # fmt: skip
def verify(request: HttpRequest, card_number: Annotated[str, Path(max_length=128)], payload: VerifyIn) -> HttpResponse:
    """The customer read out the SMS code: the card becomes active. Five wrong codes lock it for 15 minutes.

    Not wrapped in the idempotency store on purpose: a wrong code must be counted even though the answer
    is an error, and verifying an active card again simply returns it.
    """
    from kopilka.cashier import services as cashier

    business = _business(request)
    found = _card_by_number(business, card_number)
    checked = cashier.check_verification_code(
        business=business, card=found, code=payload.code, actor=_actor(request, _key(request).point_of_sale)
    )
    return _respond(200, CardOut, card_data(Card.objects.select_related("template", "customer").get(pk=checked.pk)))


@router.post(
    "/events", response={202: EventAcceptedOut, **problems(403, 404, 422)}, auth=api_key("events"), url_name="events",
)  # fmt: skip
@idempotent
def custom_event(request: HttpRequest, payload: EventIn) -> HttpResponse:
    """A custom event for marketing triggers (stored in the outbox as ``custom.event``)."""
    business = _business(request)
    found = _card(business, payload.card)
    event = emit(
        business=business, name="custom.event",
        payload={"name": payload.name, "card_id": found.pk, "number": found.number, "properties": payload.properties,
                 "api_key": _key(request).prefix},
    )  # fmt: skip
    return _respond(202, EventAcceptedOut, {"id": f"evt_{event.pk}", "status": "accepted"})
