"""A generated .pkpass verifies with openssl against the dev chain and carries what Apple requires."""

from __future__ import annotations

import pytest

from kopilka.accounts.models import PointOfSale
from kopilka.wallet import pkpass, services
from tests.wallet.conftest import make_card
from tests.wallet.pkpass_check import manifest_problems, openssl, pass_json, unpack, verify

pytestmark = pytest.mark.django_db


def test_pass_signature_verifies_against_the_development_chain(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = unpack(services.build_card_pass(card), tmp_path)

    result = verify(tmp_path, wallet.root_pem)
    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", "signature", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert manifest_problems(files) == []
    assert "signingTime" in printed.stdout
    assert "eContent: <ABSENT>" in printed.stdout
    assert printed.stdout.count("cert_info:") == 2  # the pass certificate and the intermediate


def test_a_tampered_manifest_fails_verification(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    unpack(services.build_card_pass(card), tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"pass.json", b"pass.jsoN"))

    assert verify(tmp_path, wallet.root_pem).returncode != 0


def test_a_foreign_root_does_not_vouch_for_the_pass(wallet, card, tmp_path, other_business) -> None:  # type: ignore[no-untyped-def]
    from tests.wallet.conftest import install_chain

    foreign = install_chain(other_business, tmp_path, "pass.test.kopilka.beta")
    unpack(services.build_card_pass(card), tmp_path)

    assert verify(tmp_path, foreign.root_pem).returncode != 0


def test_manifest_lists_every_file_with_its_sha1(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = unpack(services.build_card_pass(card), tmp_path)

    expected = {"pass.json", "ru.lproj/pass.strings", "en.lproj/pass.strings"} | {
        f"{name}{suffix}.png" for name in ("icon", "logo") for suffix in ("", "@2x", "@3x")
    }
    assert set(files) - {"manifest.json", "signature"} == expected
    assert manifest_problems(files) == []
    assert files["icon@2x.png"].startswith(b"\x89PNG")


def test_pass_json_has_the_keys_apple_requires(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    state = services.ensure_pass_state(card)
    data = pass_json(unpack(services.build_card_pass(card), tmp_path))

    for key in pkpass.REQUIRED_KEYS:
        assert data[key], key
    assert data["formatVersion"] == 1
    assert data["passTypeIdentifier"] == wallet.pass_type_id == "pass.test.kopilka.alpha"
    assert data["teamIdentifier"] == "TEAM123456"
    assert data["serialNumber"] == state.serial_number
    assert data["authenticationToken"] == state.authentication_token
    assert len(data["authenticationToken"]) >= 16
    assert data["webServiceURL"] == "http://testserver/wallet/"
    assert data["barcodes"] == [{"format": "PKBarcodeFormatQR", "message": "K10000001",
                                 "messageEncoding": "iso-8859-1", "altText": "10000001"}]  # fmt: skip
    assert [k for k in pkpass.STYLE_KEYS if k in data] == ["storeCard"]
    balance = data["storeCard"]["primaryFields"][0]
    assert balance == {"key": "balance", "label": "Balance", "value": 350, "changeMessage": "Your balance: %@"}
    level = data["storeCard"]["secondaryFields"][0]
    assert (level["value"], level["changeMessage"]) == ("Серебро", "Your level: %@")
    assert data["locations"] == [{"latitude": 55.7643, "longitude": 37.6064, "relevantText": "Point 1"}]
    assert data["backgroundColor"].startswith("rgb(")
    keys = [f["key"] for group in data["storeCard"].values() for f in group]
    assert len(keys) == len(set(keys))


def test_russian_strings_carry_the_change_message(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = unpack(services.build_card_pass(card), tmp_path)

    ru = files["ru.lproj/pass.strings"].decode("utf-16")
    en = files["en.lproj/pass.strings"].decode("utf-16")

    assert '"Your balance: %@" = "Ваш баланс: %@";' in ru
    assert '"Your balance: %@" = "Your balance: %@";' in en


@pytest.mark.parametrize(
    ("template_type", "style"),
    [("bonus", "storeCard"), ("discount", "storeCard"), ("gift", "storeCard"), ("stamp", "storeCard"),
     ("informational", "storeCard"), ("api", "storeCard"), ("coupon", "coupon"), ("ticket", "eventTicket")],
)  # fmt: skip
def test_each_template_type_gets_its_style(wallet, tmp_path, template_type, style) -> None:  # type: ignore[no-untyped-def]
    card = make_card(wallet.business, template_type=template_type)

    data = pass_json(unpack(services.build_card_pass(card), tmp_path))

    assert [k for k in pkpass.STYLE_KEYS if k in data] == [style]
    assert verify(tmp_path, wallet.root_pem).returncode == 0
    if template_type == "stamp":
        assert data[style]["primaryFields"][0]["value"] == "0/6"


def test_unknown_types_fall_back_to_generic() -> None:
    assert pkpass.style_for("something-new") == "generic"


def test_at_most_ten_locations(wallet, card, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for n in range(12):
        PointOfSale.objects.create(business=wallet.business, code=f"p{n}", name=f"P{n}", latitude=55, longitude=37)

    data = pass_json(unpack(services.build_card_pass(card), tmp_path))

    assert len(data["locations"]) == 10


def test_the_download_link_serves_the_pass(wallet, card, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = services.apple_pass_url(card)
    assert url is not None
    assert url.startswith("http://testserver/wallet/pass/")
    assert url.endswith(".pkpass")

    response = client.get(url.removeprefix("http://testserver"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.pkpass"
    unpack(response.content, tmp_path)
    assert verify(tmp_path, wallet.root_pem).returncode == 0
    assert client.get("/wallet/pass/" + "x" * 40 + ".pkpass").status_code == 404


def test_no_links_without_credentials(card) -> None:  # type: ignore[no-untyped-def]
    from kopilka.wallet.models import WalletSettings

    WalletSettings.objects.filter(business=card.business).delete()

    assert services.apple_pass_url(card) is None
    assert services.google_save_url(card) is None
