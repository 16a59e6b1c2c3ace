"""kopilka/core/fastsql.py: the hand-compiled statements read and write exactly what the ORM would."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from kopilka.cards.models import Card
from kopilka.core import fastsql
from kopilka.core.models import OutboxEvent
from kopilka.loyalty.models import LedgerEntry, Level, LotConsumption, Purchase

D = Decimal


def _fields(obj):  # every concrete field by attname, as stored on the instance
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.fixture
def busy_card(card: Card) -> Card:
    """A card whose row has every kind of value: decimals, a date, datetimes, booleans, nulls."""
    Card.objects.filter(pk=card.pk).update(
        balance=D("123.45"), purchase_total=D("9999.99"), purchase_period_start=date(2026, 11, 1),
        level_locked=True, referral_rewarded_at=timezone.now() - timedelta(days=3), stamps=4,
    )  # fmt: skip
    card.refresh_from_db()
    return card


def test_select_loads_the_same_values_as_the_orm(busy_card: Card) -> None:
    [row] = fastsql.select(Card, '"id" = %s', [busy_card.pk])
    assert _fields(row) == _fields(Card.objects.get(pk=busy_card.pk))
    assert isinstance(row.balance, Decimal)
    assert row.balance == D("123.45")
    assert row.purchase_period_start == date(2026, 11, 1)
    assert row.level_locked is True
    assert row.referral_rewarded_at.tzinfo is not None
    assert not row._state.adding
    assert row._state.db == "default"


def test_select_filters_orders_and_limits(card: Card) -> None:
    levels = fastsql.select(Level, '"mechanic_id" = %s', [card.template.mechanic_id], order_by='"threshold" DESC')
    assert [lv.name for lv in levels] == ["Gold", "Silver", "Bronze"]
    assert [lv.name for lv in fastsql.select(Level, '"mechanic_id" = %s', [card.template.mechanic_id],
                                             order_by='"threshold"', limit=1)] == ["Bronze"]  # fmt: skip
    assert fastsql.select(Card, '"id" = %s', [-1]) == []


def test_select_for_update_inside_a_transaction(card: Card) -> None:
    with transaction.atomic():
        [locked] = fastsql.select(Card, '"id" = %s', [card.pk], for_update=True)
    assert locked.pk == card.pk


def test_select_related_fills_the_relations_like_the_orm(busy_card: Card, django_assert_num_queries) -> None:
    Card.objects.filter(pk=busy_card.pk).update(level=None)
    with django_assert_num_queries(1):
        [row] = fastsql.select_related(
            Card, ("template", "template__mechanic", "customer", "level"), '"cards_card"."id" = %s', [busy_card.pk]
        )
        assert row.level is None  # a null FK: cached as None, no query
        mechanic = row.template.mechanic
        customer = row.customer
    orm = Card.objects.select_related("template__mechanic", "customer").get(pk=busy_card.pk)
    assert _fields(row) == _fields(orm)
    assert _fields(row.template) == _fields(orm.template)
    assert _fields(mechanic) == _fields(orm.template.mechanic)
    assert _fields(customer) == _fields(orm.customer)


def test_insert_sets_primary_keys_and_related_ids_in_order(card: Card) -> None:
    now = timezone.now()
    lots = [
        LedgerEntry(business_id=card.business_id, card=card, kind="gift", amount=D(a), balance_after=D(a),
                    remaining=D(a), available_at=now, created_at=now, expires_at=now + timedelta(days=d))
        for a, d in (("10.00", 5), ("2.50", 1))
    ]  # fmt: skip
    fastsql.insert(lots)
    assert lots[0].pk < lots[1].pk
    for lot in lots:
        assert not lot._state.adding
        assert _fields(LedgerEntry.objects.get(pk=lot.pk)) == _fields(lot)
    debit = LedgerEntry(business_id=card.business_id, card=card, kind="redemption", amount=D("-1.00"),
                        balance_after=D("11.50"), created_at=now)  # fmt: skip
    use = LotConsumption(entry=debit, lot=lots[1], amount=D("1.00"))  # the entry has no id yet
    fastsql.insert([debit])
    fastsql.insert([use])
    assert LotConsumption.objects.get(pk=use.pk).entry_id == debit.pk


def test_insert_writes_json_and_reads_it_back(business) -> None:
    events = [OutboxEvent(business_id=business.pk, name="x.y", payload={"n": i, "text": "привет", "list": [1, None]})
              for i in range(3)]  # fmt: skip
    fastsql.insert(events)
    assert [e.payload for e in OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("id")] == [
        {"n": i, "text": "привет", "list": [1, None]} for i in range(3)
    ]


def test_update_changes_only_the_named_fields(busy_card: Card) -> None:
    copy = Card.objects.get(pk=busy_card.pk)
    copy.balance = D("0.01")
    copy.stamps = 99  # not named: stays as stored
    fastsql.update(copy, ["balance"])
    stored = Card.objects.get(pk=busy_card.pk)
    assert stored.balance == D("0.01")
    assert stored.stamps == 4
    assert model_to_dict(stored, exclude=["balance"]) == model_to_dict(busy_card, exclude=["balance"])


def test_a_broken_constraint_is_djangos_integrity_error_and_writes_nothing(card: Card, pos) -> None:
    def purchase(public_id: str) -> Purchase:
        return Purchase(business_id=card.business_id, public_id=public_id, card=card, point_of_sale=pos,
                        receipt_id="same", amount=D("1"), discount=D("0"), points_redeemed=D("0"),
                        points_accrued=D("0"), payable=D("1"), balance_after=D("0"), request_hash="h",
                        created_at=timezone.now())  # fmt: skip

    fastsql.insert([purchase("pur_a")])
    with pytest.raises(IntegrityError), transaction.atomic():
        fastsql.insert([purchase("pur_b")])
    assert list(Purchase.objects.filter(card=card).values_list("public_id", flat=True)) == ["pur_a"]


def test_a_batch_writes_everything_at_send_in_one_round_trip_on_postgresql(busy_card: Card, business) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batch = fastsql.Batch()
    busy_card.balance = D("77.70")
    fastsql.update(busy_card, ["balance"], batch=batch)
    events = [OutboxEvent(business_id=business.pk, name="batched", payload={"n": i}) for i in range(2)]
    fastsql.insert(events, batch=batch)
    assert Card.objects.get(pk=busy_card.pk).balance == D("123.45")  # nothing sent yet
    assert not OutboxEvent.objects.filter(name="batched").exists()
    with CaptureQueriesContext(connection) as sent:
        batch.send()
    assert len(sent.captured_queries) == (1 if connection.vendor == "postgresql" else 2)
    assert Card.objects.get(pk=busy_card.pk).balance == D("77.70")
    assert [e.payload for e in OutboxEvent.objects.filter(name="batched").order_by("id")] == [{"n": 0}, {"n": 1}]
    batch.send()  # sent once: nothing left to send


def test_a_batch_with_a_failing_statement_writes_nothing(busy_card: Card, business) -> None:
    batch = fastsql.Batch()
    busy_card.balance = D("1.00")
    fastsql.update(busy_card, ["balance"], batch=batch)
    busy_card.balance = D("-5.00")  # the card's check constraint refuses a negative balance
    fastsql.update(busy_card, ["balance"], batch=batch)
    with pytest.raises(IntegrityError), transaction.atomic():
        batch.send()
    assert Card.objects.get(pk=busy_card.pk).balance == D("123.45")


def test_datetimes_in_where_compare_like_the_orms(card: Card) -> None:
    now = timezone.now()
    lot = LedgerEntry(business_id=card.business_id, card=card, kind="gift", amount=D("5.00"), balance_after=D("5.00"),
                      remaining=D("5.00"), available_at=now, created_at=now, expires_at=now)  # fmt: skip
    fastsql.insert([lot])
    moscow = now.astimezone(ZoneInfo("Europe/Moscow"))  # the same instant, written in another zone
    for at, expected in ((moscow, [lot.pk]), (moscow - timedelta(microseconds=1), [])):
        found = fastsql.select(LedgerEntry, '"card_id" = %s AND "expires_at" <= %s', [card.pk, at])
        assert [e.pk for e in found] == expected
        assert [e.pk for e in LedgerEntry.objects.filter(card=card, expires_at__lte=at)] == expected


@pytest.mark.filterwarnings("ignore:DateTimeField .* received a naive datetime")
def test_the_shortcut_for_ready_values_sends_what_django_would(busy_card: Card, pos) -> None:
    from django.db import connection

    now = timezone.now()
    rows = [
        busy_card,
        Purchase(business_id=busy_card.business_id, public_id="pur_s", card=busy_card, point_of_sale=pos, receipt_id="r",
                 amount=D("1.50"), discount=D("0"), points_redeemed=D("0"), points_accrued=D("0.07"), payable=D("1.5"),
                 balance_after=D("0"), request_hash="h", created_at=now, counts_for_level_since=now.date()),
        LedgerEntry(business_id=busy_card.business_id, card=busy_card, kind="gift", amount=D("2"), balance_after=D("2"),
                    remaining=D("2"), available_at=now.replace(tzinfo=None), created_at=now),  # a naive datetime too
        OutboxEvent(business_id=busy_card.business_id, name="x", payload={"a": 1}),
    ]  # fmt: skip
    for obj in rows:
        plan = fastsql._plan(type(obj), connection.vendor, None, True)
        quick: list = []
        with time_machine.travel(now, tick=False):  # auto_now_add fields take "now" each time
            fastsql._params(plan, obj, True, connection, quick)
            slow = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field, _a, _r in plan]
        assert [(type(v), str(v)) for v in quick] == [(type(v), str(v)) for v in slow], type(obj).__name__


def test_select_together_reads_what_separate_selects_read(card: Card) -> None:
    with transaction.atomic():
        cards, levels, none = fastsql.select_together([
            (Card, '"id" = %s', [card.pk], {"for_update": True}),
            (Level, '"mechanic_id" = %s', [card.template.mechanic_id], {"order_by": '"threshold" DESC', "limit": 2}),
            (Card, '"id" = %s', [-1], {}),
        ])  # fmt: skip
    assert [_fields(c) for c in cards] == [_fields(Card.objects.get(pk=card.pk))]
    assert [lv.name for lv in levels] == ["Gold", "Silver"]
    assert none == []
