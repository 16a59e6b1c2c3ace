from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kopilka.accounts.models import Business, PointOfSale
from kopilka.pos import services


class Command(BaseCommand):
    help = "Create a POS API key for business SLUG; prints the key alone on the last line."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", help="the business slug")
        parser.add_argument("--point-of-sale", dest="point_of_sale", help="code of the point of sale to bind the key to")
        parser.add_argument("--name", help="a name for the key (default: 'Operator key')")

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=options["slug"]).first()
        if business is None:
            raise CommandError(f"no business with slug '{options['slug']}'")
        point_of_sale = None
        if options["point_of_sale"]:
            point_of_sale = PointOfSale.objects.filter(business=business, code=options["point_of_sale"]).first()
            if point_of_sale is None:
                raise CommandError(f"business '{business.slug}' has no point of sale with code '{options['point_of_sale']}'")
        name = (options["name"] or "Operator key").strip()
        if not name:
            raise CommandError("--name must not be empty")
        issued = services.create_api_key(business=business, name=name, point_of_sale=point_of_sale, actor=None)
        self.stdout.write(issued.key)
