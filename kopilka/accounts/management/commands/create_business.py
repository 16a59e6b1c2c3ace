from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from kopilka.accounts import services
from kopilka.accounts.models import User


class Command(BaseCommand):
    help = "Create a business and its Office Owner; prints the business slug last."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="business name, e.g. 'Кофейня Зерно'")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", help="owner password (a random one is generated and printed if omitted)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = (options["name"] or "").strip()
        email = (options["owner_email"] or "").strip().lower()
        if not name:
            raise CommandError("--name must not be empty")
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"--owner-email: '{email}' is not a valid e-mail address") from exc
        password = options["password"]
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        existing = User.objects.filter(email__iexact=email).first()
        if existing is None:
            try:
                password_validation.validate_password(password, User(email=email))
            except ValidationError as exc:
                raise CommandError("--password: " + " ".join(exc.messages)) from exc
        elif options["password"] is not None and not existing.check_password(password):
            raise CommandError(f"a user {email} already exists with another password; omit --password to add the business to that user")
        with transaction.atomic():
            owner = existing or User.objects.create_user(email=email, password=password)
            business = services.create_business(owner=owner, name=name, accept_terms=True)
        if generated and existing is None:
            self.stdout.write(f"owner: {email} {password}")
        self.stdout.write(business.slug)
