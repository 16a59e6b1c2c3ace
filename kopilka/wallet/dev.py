"""Development credentials: a self-signed chain and a Google key, installed for one business."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from kopilka.accounts.models import Business
from kopilka.wallet import certificates, services


@dataclass(frozen=True)
class Installed:
    pass_type_id: str
    root_pem_path: Path
    service_account_email: str


def install_development_credentials(business: Business, *, directory: Path | None = None) -> Installed:
    pass_type_id = f"pass.local.kopilka.{business.slug}".replace("_", "-")
    chain = certificates.development_chain(pass_type_id=pass_type_id, team_id="KOPILKADEV", organization=business.name)
    parsed = certificates.pass_certificate(chain.pass_cert, chain.pass_key)
    services.save_apple_certificate(business=business, certificate=parsed, intermediate=chain.intermediate)
    account_json = certificates.development_service_account(project=f"kopilka-{business.slug}"[:30])
    row = services.save_google_settings(
        business=business, issuer_id="3388000000000000000"[:19], service_account_json=account_json
    )
    # The development root is public knowledge (it only vouches for this chain): keep it for openssl.
    directory = directory or Path(settings.DATA_DIR) / "wallet-dev"
    directory.mkdir(parents=True, exist_ok=True)
    root_path = directory / f"{business.slug}-root.pem"
    root_path.write_bytes(chain.pem(chain.root))
    return Installed(pass_type_id, root_path, row.google_service_account_email)
