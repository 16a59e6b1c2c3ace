"""Настройки → Сертификат: uploads are checked before anything is saved; secrets never leave encrypted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kopilka.core.demo import seed
from kopilka.wallet import certificates, services, vault
from kopilka.wallet.models import WalletSettings
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/settings/certificates/"


@pytest.fixture(scope="module")
def chain() -> certificates.DevChain:
    return certificates.development_chain(pass_type_id="pass.test.upload", team_id="UPLOADTEAM", organization="Upload")


def _pem(chain: certificates.DevChain) -> tuple[bytes, bytes, bytes]:
    key = chain.pass_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())  # fmt: skip
    return chain.pem(chain.pass_cert), key, chain.pem(chain.intermediate)


def _file(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def _upload(client, **files):  # type: ignore[no-untyped-def]
    data = {"form": "apple", **{f"apple-{k}": v for k, v in files.items()}}
    return client.post(URL, data)


def test_page_is_in_the_settings_menu(owner_client) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.get(URL)

    assert response.status_code == 200
    assert reverse("wallet:certificates") == URL
    assert "wallet:certificates" in [item.url_name for item in response.context["nav_settings"]]


def test_pem_upload_is_saved_and_the_key_is_never_shown(owner_client, business, chain) -> None:  # type: ignore[no-untyped-def]
    cert, key, wwdr = _pem(chain)

    response = _upload(owner_client, certificate=_file("pass.pem", cert), private_key=_file("key.pem", key),
                       wwdr=_file("wwdr.pem", wwdr))  # fmt: skip

    assert response.status_code == 302
    row = WalletSettings.objects.get(business=business)
    assert (row.apple_pass_type_id, row.apple_team_id) == ("pass.test.upload", "UPLOADTEAM")
    assert row.apple_expires_at == chain.pass_cert.not_valid_after_utc
    page = owner_client.get(URL).content.decode()
    assert "pass.test.upload" in page
    assert "PRIVATE KEY" not in page
    assert row.apple_key_encrypted not in page


def test_secrets_are_not_readable_in_the_database(owner_client, business, chain) -> None:  # type: ignore[no-untyped-def]
    cert, key, wwdr = _pem(chain)
    _upload(owner_client, certificate=_file("pass.pem", cert), private_key=_file("key.pem", key),
            wwdr=_file("wwdr.pem", wwdr))  # fmt: skip
    services.save_google_settings(business=business, issuer_id="3388000000000000001",
                                  service_account_json=certificates.development_service_account())  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("SELECT apple_key_encrypted, google_key_encrypted FROM wallet_walletsettings")
        apple_raw, google_raw = cursor.fetchone()

    body = key.split(b"\n")[1].decode()  # a line of the key's base64
    assert "PRIVATE KEY" not in apple_raw
    assert body not in apple_raw
    assert "PRIVATE KEY" not in google_raw
    assert "private_key" not in google_raw
    assert vault.decrypt(apple_raw) == key


def test_p12_upload_with_its_password(owner_client, business, chain) -> None:  # type: ignore[no-untyped-def]
    p12 = pkcs12.serialize_key_and_certificates(
        b"pass", chain.pass_key, chain.pass_cert, [chain.intermediate],
        serialization.BestAvailableEncryption(b"s3cret"),
    )  # fmt: skip

    wrong = _upload(owner_client, p12=_file("pass.p12", p12), p12_password="nope")
    assert wrong.status_code == 400
    assert ".p12" in " ".join(wrong.context["apple_form"].non_field_errors())
    assert not WalletSettings.objects.filter(business=business).exists()

    right = _upload(owner_client, p12=_file("pass.p12", p12), p12_password="s3cret")
    assert right.status_code == 302
    assert WalletSettings.objects.get(business=business).apple_pass_type_id == "pass.test.upload"


@pytest.mark.parametrize("case", ["garbage", "foreign_key", "no_wwdr", "wrong_wwdr", "missing_key"])
def test_bad_uploads_are_refused_and_nothing_is_saved(owner_client, business, chain, case) -> None:  # type: ignore[no-untyped-def]
    cert, key, wwdr = _pem(chain)
    other = certificates.development_chain(pass_type_id="pass.test.other", team_id="T", organization="O")
    _cert2, key2, wwdr2 = _pem(other)
    files = {"certificate": _file("c.pem", cert), "private_key": _file("k.pem", key), "wwdr": _file("w.pem", wwdr)}
    if case == "garbage":
        files["certificate"] = _file("c.pem", b"this is not a certificate")
    elif case == "foreign_key":
        files["private_key"] = _file("k.pem", key2)
    elif case == "no_wwdr":
        files.pop("wwdr")
    elif case == "wrong_wwdr":
        files["wwdr"] = _file("w.pem", wwdr2)
    else:
        files.pop("private_key")

    response = _upload(owner_client, **files)

    assert response.status_code == 400
    assert response.context["apple_form"].non_field_errors()
    assert not WalletSettings.objects.filter(business=business).exists()


def test_google_settings_refuse_a_bad_key_and_save_a_good_one(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    bad = owner_client.post(URL, {"form": "google", "google-issuer_id": "3388000000000000001",
                                  "google-service_account": _file("sa.json", b'{"client_email": 1}')})  # fmt: skip
    assert bad.status_code == 400
    assert not WalletSettings.objects.filter(business=business).exists()

    account = certificates.development_service_account(project="upload-test")
    good = owner_client.post(URL, {"form": "google", "google-issuer_id": "3388000000000000001",
                                   "google-service_account": _file("sa.json", account)})  # fmt: skip

    assert good.status_code == 302
    row = WalletSettings.objects.get(business=business)
    assert row.google_service_account_email == "wallet@upload-test.iam.gserviceaccount.com"
    assert "BEGIN PRIVATE KEY" not in owner_client.get(URL).content.decode()


def test_organisation_name_is_editable(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(URL, {"form": "org", "org-organization_name": "Кофейня Альфа+"})

    assert response.status_code == 302
    assert WalletSettings.objects.get(business=business).organization_name == "Кофейня Альфа+"


@pytest.mark.parametrize(("days", "warned"), [(60, False), (13, True), (-1, True)])
def test_expiry_warning_from_two_weeks_before(owner_client, business, chain, days, warned) -> None:  # type: ignore[no-untyped-def]
    services.save_apple_certificate(business=business, intermediate=chain.intermediate,
                                    certificate=certificates.pass_certificate(chain.pass_cert, chain.pass_key))  # fmt: skip
    WalletSettings.objects.filter(business=business).update(apple_expires_at=timezone.now() + timedelta(days=days))

    body = owner_client.get(URL).content.decode()

    assert (('data-testid="cert-expiry-warning"' in body) or ('data-testid="cert-expired"' in body)) is warned


def test_members_without_the_section_cannot_open_it(business, make_member) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_member(business, "cashier").user)

    assert client.get(URL).status_code == 403


def test_dev_certs_command_installs_a_working_chain(business, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path

    call_command("wallet_dev_certs", business.slug)

    row = WalletSettings.objects.get(business=business)
    assert row.has_apple
    assert row.has_google
    assert row.apple_pass_type_id == f"pass.local.kopilka.{business.slug}"
    certificate = certificates.load_certificate(row.apple_certificate_pem.encode())
    certificates.check_issuer(certificate, certificates.load_certificate(row.apple_wwdr_pem.encode()))
    assert (tmp_path / "wallet-dev" / f"{business.slug}-root.pem").exists()


def test_demo_gets_development_credentials_once(tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_DIR = tmp_path

    demo = seed()
    first = WalletSettings.objects.get(business=demo.business).apple_certificate_pem
    seed()

    assert WalletSettings.objects.get(business=demo.business).apple_certificate_pem == first


def test_the_cabinet_warns_on_every_page_two_weeks_before_expiry(owner_client, business, chain) -> None:  # type: ignore[no-untyped-def]
    services.save_apple_certificate(business=business, intermediate=chain.intermediate,
                                    certificate=certificates.pass_certificate(chain.pass_cert, chain.pass_key))  # fmt: skip
    home = reverse("core:home")
    assert 'data-testid="wallet-cert-banner"' not in owner_client.get(home).content.decode()

    WalletSettings.objects.filter(business=business).update(apple_expires_at=timezone.now() + timedelta(days=10))

    assert 'data-testid="wallet-cert-banner"' in owner_client.get(home).content.decode()
    assert 'data-testid="wallet-cert-banner"' not in owner_client.get(URL).content.decode()  # the page has its own


def test_members_without_the_certificates_section_see_no_banner(business, chain, make_member) -> None:  # type: ignore[no-untyped-def]
    services.save_apple_certificate(business=business, intermediate=chain.intermediate,
                                    certificate=certificates.pass_certificate(chain.pass_cert, chain.pass_key))  # fmt: skip
    WalletSettings.objects.filter(business=business).update(apple_expires_at=timezone.now() + timedelta(days=3))
    client = client_for(make_member(business, "cashier").user)

    assert 'data-testid="wallet-cert-banner"' not in client.get(reverse("core:home")).content.decode()
