"""The ledger (B3, B4), manual operations (B11), welcome points and referrals (B5, B10), monthly reset (B2)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from kopilka.core.models import AuditEntry, OutboxEvent
from kopilka.core.scheduler import jobs
from kopilka.loyalty import services
from kopilka.loyalty.errors import InsufficientPoints, ValidationFailed
from kopilka.loyalty.models import LedgerEntry, Level, LotConsumption, Mechanic
from tests.conftest import owner_of
from tests.loyalty.conftest import assert_consistent, fresh

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_redemption_spends_the_soonest_expiring_lot_first_oldest_among_equals(business, card, pos, time_machine):
    time_machine.move_to(T0, tick=False)
    never = services.adjust_points(business=business, card=card, amount="100", reason="never burns")
    late = services.adjust_points(business=business, card=card, amount="100", reason="late", lifetime_days=60)
    soon_a = services.adjust_points(business=business, card=card, amount="30", reason="soon a", lifetime_days=10)
    soon_b = services.adjust_points(business=business, card=card, amount="30", reason="soon b", lifetime_days=10)
    services.confirm_purchase(business=business, card=fresh(card), amount="1000", redeem_points="100",
                              point_of_sale=pos, receipt_id="r1")  # fmt: skip
    spent = {c.lot_id: c.amount for c in LotConsumption.objects.filter(entry__kind="redemption")}
    assert spent == {soon_a.pk: D("30.00"), soon_b.pk: D("30.00"), late.pk: D("40.00")}
    assert LedgerEntry.objects.get(pk=never.pk).remaining == D("100.00")
    assert_consistent(card)


def test_expiry_burns_what_is_left_of_a_lot_at_its_time(business, card, time_machine):
    time_machine.move_to(T0, tick=False)
    services.adjust_points(business=business, card=card, amount="80", reason="gift", kind="gift", lifetime_days=7)
    services.adjust_points(business=business, card=card, amount="-30", reason="spent")
    time_machine.move_to(T0 + timedelta(days=7) - timedelta(seconds=1), tick=False)
    assert services.expire_due_points() == 0
    time_machine.move_to(T0 + timedelta(days=7), tick=False)
    assert services.expire_due_points() == 1
    entry = LedgerEntry.objects.get(kind="expiry")
    assert entry.amount == D("-50.00")
    assert fresh(card).balance == D("0.00")
    assert services.expire_due_points() == 0  # burns once
    assert_consistent(card)


def test_delayed_accrual_is_pending_until_its_time(business, card, pos, time_machine):
    Mechanic.objects.filter(pk=card.template.mechanic_id).update(accrual_delay_hours=3, points_lifetime_days=30)
    time_machine.move_to(T0, tick=False)
    services.confirm_purchase(business=business, card=card, amount="500", point_of_sale=pos, receipt_id="r1")
    card = fresh(card)
    assert (card.balance, card.pending_points) == (D("0.00"), D("25.00"))
    q = services.quote_purchase(business=business, card=card, amount="100", redeem_points="max")
    assert q.max_redeemable == D("0.00")
    time_machine.move_to(T0 + timedelta(hours=3), tick=False)
    q = services.quote_purchase(business=business, card=card, amount="100", redeem_points="max")
    assert q.max_redeemable == D("25.00")  # the quote sees what activation will do
    assert services.activate_due_points() == 1
    card = fresh(card)
    assert (card.balance, card.pending_points) == (D("25.00"), D("0.00"))
    lot = LedgerEntry.objects.get(kind="accrual")
    assert lot.expires_at == T0 + timedelta(hours=3) + timedelta(days=30)  # lifetime counts from activation


def test_manual_adjustment_needs_a_reason_is_audited_and_never_goes_below_zero(business, card):
    owner = owner_of(business)
    with pytest.raises(ValidationFailed) as err:
        services.adjust_points(business=business, card=card, amount="10", reason=" ", actor=owner)
    assert err.value.field == "reason"
    services.adjust_points(business=business, card=card, amount="10.50", reason="compensation", actor=owner)
    with pytest.raises(InsufficientPoints):
        services.adjust_points(business=business, card=card, amount="-10.51", reason="oops", actor=owner)
    services.adjust_points(business=business, card=card, amount="-10.50", reason="mistake", actor=owner)
    entries = list(AuditEntry.objects.filter(action="card.balance_changed").order_by("id"))
    assert [(e.before, e.after, e.reason) for e in entries] == [
        ({"balance": "0.00"}, {"balance": "10.50"}, "compensation"),
        ({"balance": "10.50"}, {"balance": "0.00"}, "mistake"),
    ]
    assert entries[0].actor == owner
    entry = LedgerEntry.objects.filter(kind="manual").first()
    assert entry.actor_label == owner.email
    assert_consistent(card)


def test_manual_level_change_sticks_and_is_audited(business, card, pos):
    gold = Level.objects.get(mechanic=card.template.mechanic, name="Gold")
    with pytest.raises(ValidationFailed):
        services.change_level(business=business, card=card, level=gold, reason="")
    services.change_level(business=business, card=card, level=gold, reason="VIP", actor=owner_of(business))
    p = services.confirm_purchase(business=business, card=fresh(card), amount="100", point_of_sale=pos, receipt_id="r")
    assert p.points_accrued == D("10.00")  # Gold 10 %
    assert fresh(card).level == gold  # automatic levels leave a manual level alone
    audit = AuditEntry.objects.get(action="card.level_changed")
    assert (audit.before, audit.reason) == ({"level": "Bronze"}, "VIP")
    services.change_level(business=business, card=fresh(card), level=None, reason="back to automatic")
    assert fresh(card).level.name == "Bronze"


def test_welcome_points_and_opening_balance(business, template, make_card):
    Mechanic.objects.filter(pk=template.mechanic_id).update(welcome_points=D("100"), welcome_points_lifetime_days=14)
    template.refresh_from_db()
    card = make_card(template, opening_balance="250.50")
    assert card.balance == D("350.50")
    kinds = dict(LedgerEntry.objects.filter(card=card).values_list("kind", "amount"))
    assert kinds == {"import": D("250.50"), "welcome": D("100.00")}
    assert LedgerEntry.objects.get(card=card, kind="welcome").expires_at is not None
    assert OutboxEvent.objects.filter(name="card.issued", payload__card_id=card.pk).exists()


def test_issue_card_normalises_the_phone_and_refuses_duplicates(business, template):
    card = services.issue_card(business=business, template=template, phone="8 (999) 123-45-67", first_name="Анна")
    assert card.customer.phone == "+79991234567"
    assert card.number.isdigit()
    assert card.status == "active"
    with pytest.raises(ValidationFailed) as err:
        services.issue_card(business=business, template=template, phone="+79991234567")
    assert err.value.field == "phone"
    with pytest.raises(ValidationFailed):
        services.issue_card(business=business, template=template, phone="12")


def test_referral_rewards_both_after_the_newcomers_first_purchase(business, template, make_card, pos):
    Mechanic.objects.filter(pk=template.mechanic_id).update(referrer_points=D("200"), newcomer_points=D("100"))
    template.refresh_from_db()
    referrer = make_card(template)
    newcomer = make_card(template, referral_code=referrer.referral_code.lower())
    assert newcomer.referred_by == referrer
    assert (newcomer.balance, fresh(referrer).balance) == (D("0.00"), D("0.00"))
    services.confirm_purchase(business=business, card=newcomer, amount="100", point_of_sale=pos, receipt_id="r1")
    assert fresh(newcomer).balance == D("105.00")
    assert fresh(referrer).balance == D("200.00")
    services.confirm_purchase(business=business, card=newcomer, amount="100", point_of_sale=pos, receipt_id="r2")
    assert fresh(referrer).balance == D("200.00")  # once
    with pytest.raises(ValidationFailed) as err:
        make_card(template, referral_code="NOSUCH")
    assert err.value.field == "referral_code"
    assert_consistent(referrer)
    assert_consistent(newcomer)


def test_monthly_reset_moves_levels_down_on_the_first(business, card, pos, time_machine):
    Mechanic.objects.filter(pk=card.template.mechanic_id).update(reset_monthly=True)
    time_machine.move_to(datetime(2026, 3, 31, 12, 0, tzinfo=UTC), tick=False)
    services.confirm_purchase(business=business, card=fresh(card), amount="12000", point_of_sale=pos, receipt_id="r")
    assert fresh(card).level.name == "Silver"
    time_machine.move_to(datetime(2026, 3, 31, 20, 59, tzinfo=UTC), tick=False)  # 23:59 in Moscow
    assert services.recalculate_levels() == 0
    time_machine.move_to(datetime(2026, 3, 31, 21, 0, tzinfo=UTC), tick=False)  # 1 April 00:00 in Moscow
    assert services.recalculate_levels() == 1
    card = fresh(card)
    assert (card.purchase_total, card.level.name) == (D("0.00"), "Bronze")
    assert OutboxEvent.objects.filter(name="level.changed").count() == 3


def test_the_scheduler_runs_the_loyalty_jobs():
    names = {job.name for job in jobs()}
    assert {"loyalty.activate_due_points", "loyalty.expire_due_points", "loyalty.recalculate_levels"} <= names
