"""Apple Wallet ``.pkpass`` bundles (WALLET.md A): pass.json, images, strings, manifest, signature.

``build_pass_json`` is pure (a snapshot in, a dict out); ``package`` hashes the final bytes, signs the
manifest with a detached PKCS#7 (DER, ``Binary`` so newlines are not rewritten) and zips the lot.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from kopilka.wallet import png
from kopilka.wallet.certificates import PrivateKey

MIME_TYPE = "application/vnd.apple.pkpass"
STORE_CARD_TYPES = {"bonus", "discount", "gift", "stamp", "informational", "api"}
STYLE_KEYS = ("storeCard", "coupon", "eventTicket", "generic", "boardingPass")
REQUIRED_KEYS = ("formatVersion", "passTypeIdentifier", "serialNumber", "teamIdentifier", "organizationName",
                 "description")  # fmt: skip
MAX_LOCATIONS = 10

# The pass's own translations: pass.json carries the English text, each .lproj maps it.
PASS_STRINGS: dict[str, dict[str, str]] = {
    "ru": {
        "Balance": "Баланс",
        "Points": "Баллы",
        "Your balance: %@": "Ваш баланс: %@",
        "Level": "Уровень",
        "Your level: %@": "Ваш уровень: %@",
        "Stamps": "Штампы",
        "Stamps: %@": "Штампы: %@",
        "Reward": "Награда",
        "Card number": "Номер карты",
        "Card holder": "Владелец",
        "Referral code": "Реферальный код",
        "Company": "Компания",
        "Phone": "Телефон",
        "Address": "Адрес",
        "Show this card at the till": "Покажите карту на кассе",
    },
    "en": {},
}


def style_for(template_type: str) -> str:
    if template_type in STORE_CARD_TYPES:
        return "storeCard"
    return {"coupon": "coupon", "ticket": "eventTicket"}.get(template_type, "generic")


def rgb(color: tuple[int, int, int]) -> str:
    return "rgb({}, {}, {})".format(*color)


def parse_hex(value: str | None, default: tuple[int, int, int]) -> tuple[int, int, int]:
    value = (value or "").lstrip("#")
    if len(value) != 6:
        return default
    try:
        return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    except ValueError:
        return default


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    relevant_text: str = ""


@dataclass(frozen=True)
class PassData:
    """Everything a pass shows, read from the database once (see services.pass_data)."""

    serial_number: str
    authentication_token: str
    web_service_url: str
    pass_type_id: str
    team_id: str
    organization_name: str
    description: str
    template_type: str
    card_number: str
    barcode_payload: str
    customer_name: str
    balance: Decimal
    level_name: str = ""
    stamps: int = 0
    stamps_required: int = 0
    stamp_reward: str = ""
    referral_code: str = ""
    business_phone: str = ""
    business_address: str = ""
    background: tuple[int, int, int] = (32, 33, 36)
    foreground: tuple[int, int, int] = (255, 255, 255)
    label: tuple[int, int, int] = (255, 196, 0)
    locations: tuple[Location, ...] = ()
    expires_at: datetime | None = None
    voided: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    barcode_format: str = "PKBarcodeFormatQR"
    logo_text: str = ""
    front_fields: tuple[tuple[str, str], ...] = ()  # (label, rendered value) from the template design
    back_fields: tuple[tuple[str, str], ...] = ()
    logo_png: bytes = b""  # uploaded in the template design; empty: a generated badge
    strip_png: bytes = b""  # the level theme's strip or the main one


def build_pass_json(data: PassData) -> dict[str, Any]:
    style = style_for(data.template_type)
    primary: dict[str, Any]
    if data.template_type == "stamp":
        primary = {"key": "stamps", "label": "Stamps", "value": f"{data.stamps}/{data.stamps_required}"
                   if data.stamps_required else data.stamps, "changeMessage": "Stamps: %@"}  # fmt: skip
    else:
        primary = {"key": "balance", "label": "Balance", "value": _number(data.balance),
                   "changeMessage": "Your balance: %@"}  # fmt: skip
    secondary: list[dict[str, Any]] = []
    if data.level_name:
        secondary.append({"key": "level", "label": "Level", "value": data.level_name,
                          "changeMessage": "Your level: %@"})  # fmt: skip
    if data.customer_name:
        secondary.append({"key": "holder", "label": "Card holder", "value": data.customer_name})
    auxiliary = [{"key": "number", "label": "Card number", "value": data.card_number}]
    back: list[dict[str, Any]] = [{"key": "back_number", "label": "Card number", "value": data.card_number}]
    if data.template_type == "stamp" and data.stamp_reward:
        back.append({"key": "reward", "label": "Reward", "value": data.stamp_reward})
    if data.referral_code:
        back.append({"key": "referral", "label": "Referral code", "value": data.referral_code})
    back.append({"key": "company", "label": "Company", "value": data.organization_name})
    if data.business_phone:
        back.append({"key": "phone", "label": "Phone", "value": data.business_phone})
    if data.business_address:
        back.append({"key": "address", "label": "Address", "value": data.business_address})
    auxiliary += [{"key": f"front_{i}", "label": label, "value": value}
                  for i, (label, value) in enumerate(data.front_fields)]  # fmt: skip
    back += [
        {"key": f"design_{i}", "label": label, "value": value} for i, (label, value) in enumerate(data.back_fields)
    ]
    fields: dict[str, Any] = {
        "headerFields": [] if style == "storeCard" else [primary],
        "primaryFields": [primary] if style == "storeCard" else [],
        "secondaryFields": secondary,
        "auxiliaryFields": auxiliary,
        "backFields": back,
    }
    if style != "storeCard" and data.customer_name:  # the holder's name is the big line elsewhere
        fields["primaryFields"] = [{"key": "name", "label": "Card holder", "value": data.customer_name}]
        fields["secondaryFields"] = [f for f in secondary if f["key"] != "holder"]
    pass_json: dict[str, Any] = {
        "formatVersion": 1,
        "passTypeIdentifier": data.pass_type_id,
        "serialNumber": data.serial_number,
        "teamIdentifier": data.team_id,
        "organizationName": data.organization_name,
        "description": data.description,
        "logoText": data.logo_text or data.organization_name,
        "authenticationToken": data.authentication_token,
        "webServiceURL": data.web_service_url,
        "barcodes": [
            {
                "format": data.barcode_format,
                "message": data.barcode_payload,
                "messageEncoding": "iso-8859-1",
                "altText": data.card_number,
            }
        ],  # fmt: skip
        "backgroundColor": rgb(data.background),
        "foregroundColor": rgb(data.foreground),
        "labelColor": rgb(data.label),
        style: fields,
    }
    if style == "eventTicket":
        pass_json[style].pop("headerFields")
        pass_json[style]["headerFields"] = [primary]
    if data.locations:
        pass_json["locations"] = [
            {"latitude": loc.latitude, "longitude": loc.longitude, **({"relevantText": loc.relevant_text}
                                                                      if loc.relevant_text else {})}
            for loc in data.locations[:MAX_LOCATIONS]
        ]  # fmt: skip
    if data.expires_at is not None:
        pass_json["expirationDate"] = data.expires_at.isoformat(timespec="seconds")
    if data.voided:
        pass_json["voided"] = True
    pass_json.update(data.extra)
    return pass_json


def pass_strings(language: str) -> bytes:
    """``"English" = "Перевод";`` lines in UTF-16 with a BOM, as Apple asks for non-ASCII text."""
    table = PASS_STRINGS.get(language, {})
    lines = []
    for source in PASS_STRINGS["ru"]:
        target = table.get(source, source)
        lines.append('"{}" = "{}";'.format(source.replace('"', '\\"'), target.replace('"', '\\"')))
    return ("\n".join(lines) + "\n").encode("utf-16")


STRIP_STYLES = ("storeCard", "coupon", "eventTicket")


def images(data: PassData) -> dict[str, bytes]:
    # Without an image library the uploaded logo/strip cannot be rescaled: every scale gets the same
    # bytes and Wallet scales them to fit (an upload at @3x size looks sharp everywhere).
    strip = data.strip_png if style_for(data.template_type) in STRIP_STYLES else b""
    files = {}
    for scale, suffix in ((1, ""), (2, "@2x"), (3, "@3x")):
        files[f"icon{suffix}.png"] = png.badge(29 * scale, 29 * scale, data.background, data.label)
        files[f"logo{suffix}.png"] = data.logo_png or png.badge(50 * scale, 50 * scale, data.background,
                                                                data.foreground)  # fmt: skip
        if strip:
            files[f"strip{suffix}.png"] = strip
    return files


@dataclass(frozen=True)
class Signer:
    certificate: x509.Certificate
    key: PrivateKey
    intermediate: x509.Certificate | None


def sign(manifest: bytes, signer: Signer) -> bytes:
    builder = (
        pkcs7.PKCS7SignatureBuilder().set_data(manifest).add_signer(signer.certificate, signer.key, hashes.SHA256())
    )
    if signer.intermediate is not None:
        builder = builder.add_certificate(signer.intermediate)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])


def package(files: dict[str, bytes], signer: Signer) -> bytes:
    """Manifest of every file's final bytes, its signature, all zipped at the root."""
    manifest = json.dumps(
        {name: hashlib.sha1(content).hexdigest() for name, content in sorted(files.items())},  # noqa: S324 - Apple's format
        indent=1,
    ).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in files.items():
            compress = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            bundle.writestr(name, content, compress_type=compress)
        bundle.writestr("manifest.json", manifest, compress_type=zipfile.ZIP_DEFLATED)
        bundle.writestr("signature", sign(manifest, signer), compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def build(data: PassData, signer: Signer) -> bytes:
    files = {"pass.json": json.dumps(build_pass_json(data), ensure_ascii=False, indent=1).encode()}
    files.update(images(data))
    for language in ("ru", "en"):
        files[f"{language}.lproj/pass.strings"] = pass_strings(language)
    return package(files, signer)
