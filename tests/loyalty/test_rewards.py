"""Stamps (B6), gift certificates and the reward catalogue (B8), tickets (B9)."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kopilka.cards.models import CardTemplate
from kopilka.core.models import OutboxEvent
from kopilka.loyalty import services
from kopilka.loyalty.errors import InsufficientPoints, ValidationFailed
from kopilka.loyalty.models import CouponGroup, GiftCertificate, Product, RewardCatalogItem, StampReward
from tests.loyalty.conftest import assert_consistent, fresh


def test_stamps_per_purchase_give_the_reward_at_n(business, make_card, pos):
    template = CardTemplate.objects.create(
        business=business, name="Кофе", type="stamp", stamps_required=6, stamp_reward="Кофе в подарок"
    )
    card = make_card(template)
    for i in range(13):
        services.confirm_purchase(business=business, card=card, amount="150", point_of_sale=pos, receipt_id=f"r{i}")
    assert fresh(card).stamps == 1
    assert list(StampReward.objects.filter(card=card).values_list("title", flat=True)) == ["Кофе в подарок"] * 2
    assert OutboxEvent.objects.filter(name="stamps.reward_earned").count() == 2


def test_stamps_per_qualifying_item(business, make_card, pos):
    Product.objects.create(business=business, sku="LATTE", name="Латте", price=D("250.00"))
    Product.objects.create(business=business, sku="CAKE", name="Торт", price=D("150.00"))
    template = CardTemplate.objects.create(business=business, name="Латте", type="stamp", stamps_required=5,
                                           stamp_sku="LATTE")  # fmt: skip
    card = make_card(template)
    quote = services.quote_purchase(business=business, card=card, items=[{"sku": "LATTE", "quantity": "3"},
                                                                         {"sku": "CAKE", "quantity": "2"}])  # fmt: skip
    assert quote.stamps_to_add == 3
    services.confirm_purchase(business=business, card=card, items=[{"sku": "LATTE", "quantity": "3"}],
                              point_of_sale=pos, receipt_id="r1")  # fmt: skip
    services.confirm_purchase(business=business, card=card, items=[{"sku": "LATTE", "quantity": "3"}],
                              point_of_sale=pos, receipt_id="r2")  # fmt: skip
    assert fresh(card).stamps == 1
    assert StampReward.objects.filter(card=card).count() == 1


def test_a_ticket_checks_in_once(business, make_card, pos):
    template = CardTemplate.objects.create(business=business, name="Концерт", type="ticket")
    card = make_card(template, event_name="Джаз в парке")
    ticket = services.check_in_ticket(business=business, card=card, point_of_sale=pos)
    assert ticket.event_name == "Джаз в парке"
    assert ticket.checked_in_at is not None
    with pytest.raises(ValidationFailed, match="already checked in"):
        services.check_in_ticket(business=business, card=card, point_of_sale=pos)
    assert OutboxEvent.objects.filter(name="ticket.checked_in").count() == 1


def test_a_gift_certificate_is_spent_in_parts_and_not_after_expiry(business):
    cert = services.issue_certificate(business=business, amount="1000.00")
    services.spend_certificate(business=business, code=cert.code.lower(), amount="400.00")
    s = services.spend_certificate(business=business, code=cert.code, amount="600.00")
    assert s.balance_after == D("0.00")
    with pytest.raises(ValidationFailed) as err:
        services.spend_certificate(business=business, code=cert.code, amount="0.01")
    assert err.value.field == "amount"
    old = services.issue_certificate(business=business, amount="500", expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationFailed, match="expired"):
        services.spend_certificate(business=business, code=old.code, amount="1")


def test_points_buy_a_certificate_from_the_catalogue(business, card):
    item = RewardCatalogItem.objects.create(business=business, name="Сертификат 500 ₽", points_cost=D("400"),
                                            certificate_amount=D("500"), certificate_lifetime_days=90)  # fmt: skip
    with pytest.raises(InsufficientPoints):
        services.exchange_points_for_certificate(business=business, card=card, item=item)
    services.adjust_points(business=business, card=card, amount="450", reason="x")
    cert = services.exchange_points_for_certificate(business=business, card=card, item=item)
    assert (cert.balance, cert.card_id) == (D("500.00"), card.pk)
    assert fresh(card).balance == D("50.00")
    assert GiftCertificate.objects.count() == 1
    assert_consistent(card)


def test_a_points_coupon_outside_a_check_and_generated_codes(business, card):
    group = CouponGroup.objects.create(business=business, name="Промо", reward="points", value=D("75"), prefix="promo")
    coupons = services.generate_coupons(business=business, group_id=group.pk, count=20)
    assert len({c.code for c in coupons}) == 20
    assert all(c.code.startswith("PROMO-") for c in coupons)
    services.redeem_coupon(business=business, card=card, code=coupons[0].code)
    assert fresh(card).balance == D("75.00")
    with pytest.raises(ValidationFailed, match="already been used"):
        services.redeem_coupon(business=business, card=card, code=coupons[0].code)
