"""``wallet_dev_certs [SLUG]``: a self-signed development chain and Google key for a business."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.accounts.models import Business
from kopilka.wallet.dev import install_development_credentials


class Command(BaseCommand):
    help = "Generate development Apple/Google wallet credentials and install them for a business."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", nargs="?", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        business = Business.objects.filter(slug=options["slug"]).first()
        if business is None:
            raise CommandError(f"no business with slug {options['slug']!r}")
        installed = install_development_credentials(business)
        self.stdout.write(
            f"Installed development wallet credentials for {business.slug}: pass type id "
            f"{installed.pass_type_id}, root CA {installed.root_pem_path}, Google {installed.service_account_email}"
        )
