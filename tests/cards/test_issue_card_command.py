"""The operator command issue_card (shared/spec/operator-cli.md)."""

from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty.models import LedgerEntry


@pytest.fixture
def template(business):
    return CardTemplate.objects.create(business=business, name="Бонусная", type="bonus")


def run(*args):
    out = StringIO()
    call_command("issue_card", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_issues_a_verified_card_and_prints_its_number_last(business, template):
    lines = run(business.slug, "--template", str(template.pk), "--phone", "+7 999 123-45-67",
                "--first-name", "Анна", "--opening-balance", "250.50")  # fmt: skip
    card = Card.objects.get(business=business)
    assert lines[-1] == card.number
    assert card.status == "active"
    assert card.verified_at is not None
    assert card.customer.phone == "+79991234567"
    assert card.customer.first_name == "Анна"
    assert card.balance == D("250.50")
    entry = LedgerEntry.objects.get(card=card)
    assert (entry.kind, entry.amount, entry.actor_label) == ("import", D("250.50"), "operator:issue_card")


@pytest.mark.parametrize(
    "args",
    [
        ["nope", "--template", "1", "--phone", "+79991234567"],
        ["{slug}", "--template", "999999", "--phone", "+79991234567"],
        ["{slug}", "--template", "x", "--phone", "+79991234567"],
        ["{slug}", "--template", "{tid}", "--phone", "12"],
        ["{slug}", "--template", "{tid}", "--phone", "+79991234567", "--opening-balance", "-5"],
        ["{slug}", "--template", "{tid}", "--phone", "+79991234567", "--opening-balance", "abc"],
    ],
)
def test_bad_arguments_are_refused_and_change_nothing(business, other_business, template, args):
    args = [a.format(slug=business.slug, tid=template.pk) for a in args]
    with pytest.raises(CommandError):
        run(*args)
    assert not Card.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_a_template_of_another_business_is_refused(business, other_business, template):
    with pytest.raises(CommandError, match="template"):
        run(other_business.slug, "--template", str(template.pk), "--phone", "+79991234567")
