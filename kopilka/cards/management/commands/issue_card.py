"""``issue_card SLUG --template ID --phone PHONE [--first-name NAME] [--opening-balance POINTS]``
(shared/spec/operator-cli.md): a verified, active card; the opening balance is an ``import`` ledger entry.
Prints the card number alone on the last line; bad arguments change nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kopilka.accounts.models import Business
from kopilka.cards.models import CardTemplate
from kopilka.loyalty import services
from kopilka.loyalty.actors import Actor
from kopilka.loyalty.errors import LoyaltyError


class Command(BaseCommand):
    help = "Issue a verified card of a template to a phone; prints the card number last."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", help="the business slug")
        parser.add_argument("--template", required=True, help="card template id")
        parser.add_argument("--phone", required=True, help="the customer's phone, e.g. +79991234567")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--opening-balance", default=None, help="points to start with, e.g. 250.00")

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=options["slug"]).first()
        if business is None:
            raise CommandError(f"no business with slug '{options['slug']}'")
        template_id = str(options["template"]).strip()
        template = (
            CardTemplate.objects.filter(business=business, pk=int(template_id)).select_related("mechanic").first()
            if template_id.isdigit() and len(template_id) < 18
            else None
        )
        if template is None:
            raise CommandError(f"--template: business '{business.slug}' has no card template {template_id}")
        try:
            card = services.issue_card(
                business=business,
                template=template,
                phone=options["phone"],
                first_name=(options["first_name"] or "").strip(),
                verified=True,
                opening_balance=options["opening_balance"],
                actor=Actor(label="operator:issue_card"),
            )
        except LoyaltyError as exc:
            field = (exc.field or "").replace("_", "-")
            raise CommandError(f"--{field}: {exc.message}" if field else exc.message) from exc
        self.stdout.write(f"customer: {card.customer.phone} {card.customer.first_name}".rstrip())
        self.stdout.write(f"balance: {card.balance}")
        self.stdout.write(card.number)
