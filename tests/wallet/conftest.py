"""Wallet fixtures: a business with a development chain installed, and a card of it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import pytest

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.customers.models import Customer
from kopilka.loyalty.models import Level, Mechanic
from kopilka.wallet import certificates, services
from kopilka.wallet.models import PassState, WalletSettings


@dataclass
class Wallet:
    business: Business
    settings: WalletSettings
    chain: certificates.DevChain
    root_pem: Path
    account_json: bytes

    @property
    def pass_type_id(self) -> str:
        return self.settings.apple_pass_type_id


@lru_cache(maxsize=8)
def _chain(pass_type_id: str) -> certificates.DevChain:
    """RSA key generation is the slow part: one chain per pass type id for the whole run."""
    return certificates.development_chain(pass_type_id=pass_type_id, team_id="TEAM123456", organization="Alpha")


@lru_cache(maxsize=1)
def _account_json() -> bytes:
    return certificates.development_service_account(project="kopilka-test")


def install_chain(business: Business, tmp_path: Path, pass_type_id: str = "pass.test.kopilka.alpha") -> Wallet:
    chain = _chain(pass_type_id)
    services.save_apple_certificate(
        business=business,
        certificate=certificates.pass_certificate(chain.pass_cert, chain.pass_key),
        intermediate=chain.intermediate,
    )
    account_json = _account_json()
    row = services.save_google_settings(
        business=business, issuer_id="3388000000012345678", service_account_json=account_json
    )
    root = tmp_path / f"root-{business.pk}.pem"
    root.write_bytes(chain.pem(chain.root))
    return Wallet(business, row, chain, root, account_json)


@pytest.fixture
def wallet(business, tmp_path) -> Wallet:  # type: ignore[no-untyped-def]
    PointOfSale.objects.filter(business=business).update(latitude=Decimal("55.7643"), longitude=Decimal("37.6064"))
    return install_chain(business, tmp_path)


def make_card(business: Business, *, template_type: str = "bonus", number: str = "10000001",
              balance: str = "350", phone: str = "+79990001111") -> Card:  # fmt: skip
    mechanic = Mechanic.objects.create(business=business, name=f"M {number}", kind="bonus")
    level = Level.objects.create(mechanic=mechanic, name="Серебро", threshold=Decimal("0"))
    template = CardTemplate.objects.create(business=business, name=f"Карта {template_type}", type=template_type,
                                           mechanic=mechanic, stamps_required=6)  # fmt: skip
    customer = Customer.objects.create(business=business, phone=phone, first_name="Анна", last_name="Смирнова")
    return Card.objects.create(
        business=business, template=template, customer=customer, number=number, barcode_payload=f"K{number}",
        referral_code=f"R{number}", level=level, balance=Decimal(balance),
    )  # fmt: skip


@pytest.fixture
def card(wallet) -> Card:  # type: ignore[no-untyped-def]
    return make_card(wallet.business)


@pytest.fixture
def state(card) -> PassState:  # type: ignore[no-untyped-def]
    return services.ensure_pass_state(card)
