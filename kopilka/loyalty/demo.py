"""The loyalty part of the demo business (operator-cli.md ``seed_demo``).

Templates, mechanics with levels, a product catalogue, a coupon group, ~200 customers with cards and a
year of purchase history — made through the services, so the demo obeys every rule the product does.
Safe to run twice: the catalogue and templates are refreshed, the history is created only once.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty import services
from kopilka.loyalty.actors import Actor
from kopilka.loyalty.errors import LoyaltyError
from kopilka.loyalty.models import Coupon, CouponGroup, Level, Mechanic, Product, ProductCategory, new_levels_stamp

if TYPE_CHECKING:
    from kopilka.core.demo import Demo

D = Decimal
BONUS_TEMPLATE = "Бонусная карта"
DISCOUNT_TEMPLATE = "Скидочная карта"
STAMP_TEMPLATE = "Кофейная штамп-карта"
COUPON_GROUP = "Кофе в подарок"

CATEGORIES: dict[str, dict[str, Any]] = {
    "Кофе": {"accrual_rule": "default"},
    "Десерты": {"accrual_rule": "default"},
    "Зерно": {"accrual_rule": "percent", "accrual_value": D("10")},
    "Подарочные карты": {"accrual_rule": "excluded", "excluded_from_redemption": True},
}
PRODUCTS = [
    ("ESPRESSO", "Эспрессо", "Кофе", "150.00"),
    ("AMERICANO", "Американо", "Кофе", "180.00"),
    ("CAPPUCCINO", "Капучино", "Кофе", "230.00"),
    ("LATTE", "Латте", "Кофе", "250.00"),
    ("FLATWHITE", "Флэт уайт", "Кофе", "270.00"),
    ("CHEESECAKE", "Чизкейк", "Десерты", "320.00"),
    ("CROISSANT", "Круассан", "Десерты", "190.00"),
    ("ECLAIR", "Эклер", "Десерты", "160.00"),
    ("BEANS-ETH", "Зерно Эфиопия 250 г", "Зерно", "890.00"),
    ("GIFT-1000", "Подарочная карта 1000 ₽", "Подарочные карты", "1000.00"),
]
FIRST_NAMES = ["Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Дарья", "Алексей", "Дмитрий", "Иван",
               "Сергей", "Андрей", "Михаил", "Павел", "Николай", "Екатерина", "Татьяна", "Юлия"]  # fmt: skip
LAST_NAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
              "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев"]  # fmt: skip
CUSTOMERS = 200
ACTOR = Actor(label="demo")


def _mechanic(business: Any, name: str, levels: list[tuple[str, str, str, str, str]], **fields: Any) -> Mechanic:
    fields["levels_stamp"] = new_levels_stamp()
    mechanic, _created = Mechanic.objects.update_or_create(business=business, name=name, defaults=fields)
    for order, (level_name, threshold, accrual, cap, discount) in enumerate(levels):
        Level.objects.update_or_create(
            mechanic=mechanic, threshold=D(threshold),
            defaults={"name": level_name, "accrual_percent": D(accrual), "redeem_max_percent": D(cap),
                      "discount_percent": D(discount), "order": order},
        )  # fmt: skip
    return mechanic


def _template(business: Any, name: str, **fields: Any) -> CardTemplate:
    template, _created = CardTemplate.objects.update_or_create(business=business, name=name, defaults=fields)
    return template


@transaction.atomic
def seed_catalogue(business: Any) -> dict[str, CardTemplate]:
    bonus = _mechanic(
        business, "Бонусы «Зерно»",
        [("Базовый", "0", "5", "30", "0"), ("Серебро", "10000", "7", "40", "0"), ("Золото", "30000", "10", "50", "0")],
        kind="bonus", accrual_percent=D("5"), redeem_max_percent=D("30"), welcome_points=D("100"),
        welcome_points_lifetime_days=30, points_lifetime_days=365, referrer_points=D("200"), newcomer_points=D("100"),
    )  # fmt: skip
    discount = _mechanic(
        business, "Скидка «Зерно»", [("5 %", "0", "0", "0", "5"), ("10 %", "20000", "0", "0", "10")],
        kind="discount", discount_percent=D("5"),
    )  # fmt: skip
    templates = {
        "bonus": _template(business, BONUS_TEMPLATE, type="bonus", mechanic=bonus),
        "discount": _template(business, DISCOUNT_TEMPLATE, type="discount", mechanic=discount),
        "stamp": _template(business, STAMP_TEMPLATE, type="stamp", stamps_required=6,
                           stamp_reward="Шестой кофе в подарок"),  # fmt: skip
    }
    categories = {}
    for name, fields in CATEGORIES.items():
        categories[name], _c = ProductCategory.objects.update_or_create(business=business, name=name, defaults=fields)
    for sku, name, category, price in PRODUCTS:
        Product.objects.update_or_create(
            business=business, sku=sku, defaults={"name": name, "category": categories[category], "price": D(price)}
        )
    group, _c = CouponGroup.objects.update_or_create(
        business=business, name=COUPON_GROUP,
        defaults={"title": "Латте в подарок", "reward": "free_item", "item_sku": "LATTE", "prefix": "WELCOME"},
    )  # fmt: skip
    if not Coupon.objects.filter(group=group).exists():
        services.generate_coupons(business=business, group_id=group.pk, count=50, actor=ACTOR)
    return templates


def _items(rng: random.Random) -> list[dict[str, str]]:
    picks = rng.sample(PRODUCTS[:9], rng.choice([1, 1, 2, 2, 3]))
    return [{"sku": sku, "quantity": str(rng.choice([1, 1, 1, 2]))} for sku, _n, _c, _p in picks]


@transaction.atomic  # one commit instead of ~2000 keeps SQLite fast
def seed_history(business: Any, templates: dict[str, CardTemplate], points_of_sale: list[Any]) -> int:
    """~200 customers with cards and a year of purchases; nothing when the demo already has cards."""
    if Card.objects.filter(business=business).exists():
        return 0
    rng = random.Random(20260101)
    now = timezone.now()
    year_ago = now - timedelta(days=365)
    purchases = 0
    kinds = ["bonus"] * 150 + ["discount"] * 30 + ["stamp"] * 20
    cards: list[Card] = []
    for i, kind in enumerate(kinds[:CUSTOMERS]):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES) + ("а" if first.endswith(("а", "я")) else "")
        referral = cards[rng.randrange(len(cards))].referral_code if cards and kind == "bonus" and i % 10 == 0 else ""
        card = services.issue_card(
            business=business, template=templates[kind], phone=f"+7999200{i:04d}", first_name=first, last_name=last,
            referral_code=referral if referral and cards[0].template_id == templates[kind].pk else "", actor=ACTOR,
        )  # fmt: skip
        joined = year_ago + timedelta(days=rng.randrange(0, 330))
        Card.objects.filter(pk=card.pk).update(created_at=joined)
        cards.append(card)
        visits = sorted(joined + timedelta(days=rng.uniform(0, (now - joined).days or 1))
                        for _v in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 8])))  # fmt: skip
        for n, when in enumerate(visits):
            when = min(when, now - timedelta(minutes=1))
            card.refresh_from_db(fields=["balance"])
            redeem = "max" if kind == "bonus" and card.balance > 0 and rng.random() < 0.3 else None
            try:
                purchase = services.confirm_purchase(
                    business=business, card=card, items=_items(rng), redeem_points=redeem,
                    point_of_sale=rng.choice(points_of_sale), receipt_id=f"demo-{card.number}-{n}", now=when,
                    actor=ACTOR,
                )  # fmt: skip
            except LoyaltyError:
                continue
            purchases += 1
            if rng.random() < 0.03:
                services.refund_purchase(business=business, purchase=purchase, amount=purchase.amount, now=when,
                                         actor=ACTOR)  # fmt: skip
    return purchases


def seed_loyalty(demo: Demo) -> dict[str, CardTemplate]:
    templates = seed_catalogue(demo.business)
    seed_history(demo.business, templates, demo.points_of_sale)
    return templates
