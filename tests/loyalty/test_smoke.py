from decimal import Decimal as D

from kopilka.loyalty import services
from tests.loyalty.conftest import assert_consistent, fresh


def test_example_from_the_spec(business, card, pos):
    services.adjust_points(business=business, card=card, amount="500.00", reason="start")
    quote = services.quote_purchase(business=business, card=card, amount="1250.00", redeem_points="100.00")
    assert quote.max_redeemable == D("375.00")
    assert quote.payable == D("1150.00")
    assert quote.points_to_accrue == D("57.50")
    purchase = services.confirm_purchase(
        business=business, card=card, amount="1250.00", redeem_points="100.00", point_of_sale=pos, receipt_id="r1"
    )
    assert purchase.balance_after == D("457.50")
    assert fresh(card).balance == D("457.50")
    refund = services.refund_purchase(business=business, purchase=purchase, amount="1250.00")
    assert refund.points_returned == D("100.00")
    assert refund.points_taken_back == D("57.50")
    assert fresh(card).balance == D("500.00")
    assert_consistent(card)
