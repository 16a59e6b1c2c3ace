"""The demo business ``demo`` (operator-cli.md ``seed_demo``). Safe to run again: it refreshes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from kopilka.accounts import services as accounts
from kopilka.accounts.models import Business, Membership, PointOfSale, Role, User

DEMO_SLUG = "demo"
OWNER_EMAIL = "owner@demo.kopilka.local"
OWNER_PASSWORD = "kopilka-demo"  # noqa: S105 - the published demo login
CASHIER_EMAIL = "cashier@demo.kopilka.local"
CASHIER_PASSWORD = "kopilka-cashier"  # noqa: S105 - the published demo login

POINTS_OF_SALE = [
    {"code": "main-street", "name": "Кофейня на Тверской", "address": "Москва, ул. Тверская, 12",
     "latitude": Decimal("55.764300"), "longitude": Decimal("37.606400")},
    {"code": "park", "name": "Кофейня в парке Горького", "address": "Москва, ул. Крымский Вал, 9",
     "latitude": Decimal("55.729800"), "longitude": Decimal("37.601100")},
]  # fmt: skip


@dataclass
class Demo:
    business: Business
    owner: User
    cashier: User
    points_of_sale: list[PointOfSale]
    registration_url: str = ""


def _user(email: str, password: str, **fields: str) -> User:
    user = User.objects.filter(email=email).first() or User(email=email)
    for k, v in fields.items():
        setattr(user, k, v)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def seed_accounts() -> Demo:
    owner = _user(OWNER_EMAIL, OWNER_PASSWORD, first_name="Ольга", last_name="Демина", phone="+79990000001")
    business = Business.objects.filter(slug=DEMO_SLUG).first()
    if business is None:
        business = accounts.create_business(
            owner=owner, slug=DEMO_SLUG, name="Кофейня «Зерно»", company_name="Зерно",
            legal_entity="ООО «Зерно», ИНН 7700000000", accept_terms=True,
        )  # fmt: skip
    Membership.objects.update_or_create(business=business, user=owner, defaults={"is_owner": True, "is_active": True})
    accounts.create_standard_roles(business=business)
    points = []
    for spec in POINTS_OF_SALE:
        pos, _ = PointOfSale.objects.update_or_create(
            business=business, code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"}
        )
        points.append(pos)
    cashier = _user(CASHIER_EMAIL, CASHIER_PASSWORD, first_name="Иван", last_name="Кассиров")
    Membership.objects.update_or_create(
        business=business,
        user=cashier,
        defaults={
            "role": Role.objects.get(business=business, code="cashier"),
            "point_of_sale": points[0],
            "is_active": True,
            "is_owner": False,
        },
    )
    return Demo(business=business, owner=owner, cashier=cashier, points_of_sale=points)


def seed() -> Demo:
    """Everything of the demo; later capabilities add their parts after the accounts."""
    from kopilka.enrollment.demo import seed_enrollment
    from kopilka.loyalty.demo import seed_loyalty
    from kopilka.wallet.demo import seed_wallet

    demo = seed_accounts()
    seed_loyalty(demo)
    seed_wallet(demo)
    demo.registration_url = seed_enrollment(demo)
    return demo
