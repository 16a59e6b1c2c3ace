from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kopilka.core import demo


class Command(BaseCommand):
    help = "Create or refresh the demo business 'demo'; prints the owner login last."

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo.seed()
        self.stdout.write(f"business: {result.business.slug} ({result.business.name})")
        if result.registration_url:
            self.stdout.write(f"registration: {result.registration_url}")
        self.stdout.write(f"cashier: {demo.CASHIER_EMAIL} {demo.CASHIER_PASSWORD}")
        self.stdout.write(f"owner: {demo.OWNER_EMAIL} {demo.OWNER_PASSWORD}")
