"""The loyalty part of seed_demo: templates of operator-cli.md, history made by the services, run twice."""

from decimal import Decimal as D

from kopilka.cards.models import Card, CardTemplate
from kopilka.core import demo
from kopilka.loyalty import demo as loyalty_demo
from kopilka.loyalty import selectors
from kopilka.loyalty.models import Coupon, CouponGroup, Level, Product, Purchase


def test_seed_creates_the_templates_and_a_consistent_history_and_is_idempotent(db, monkeypatch):
    monkeypatch.setattr(loyalty_demo, "CUSTOMERS", 25)
    first = demo.seed()
    business = first.business
    types = dict(CardTemplate.objects.filter(business=business).values_list("name", "type"))
    assert types[loyalty_demo.BONUS_TEMPLATE] == "bonus"
    assert types[loyalty_demo.DISCOUNT_TEMPLATE] == "discount"
    assert types[loyalty_demo.STAMP_TEMPLATE] == "stamp"
    bonus = CardTemplate.objects.get(business=business, name=loyalty_demo.BONUS_TEMPLATE)
    assert Level.objects.filter(mechanic=bonus.mechanic).count() == 3
    assert Product.objects.filter(business=business).count() == len(loyalty_demo.PRODUCTS)
    assert Coupon.objects.filter(group__in=CouponGroup.objects.filter(business=business)).count() == 50
    cards = Card.objects.filter(business=business)
    assert cards.count() == 25
    purchases = Purchase.objects.filter(business=business).count()
    assert purchases > 0
    for card in cards:
        assert card.balance == selectors.ledger_sum(card) >= D("0")
    demo.seed()
    assert Card.objects.filter(business=business).count() == 25
    assert Purchase.objects.filter(business=business).count() == purchases
    assert CardTemplate.objects.filter(business=business, name=loyalty_demo.BONUS_TEMPLATE).count() == 1
