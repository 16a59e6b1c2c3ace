"""Apple pass certificates and Google service-account keys: parsing, checks, development chains."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.utils.translation import gettext as _

# Apple's pass certificates carry this extended key usage (WALLET.md A7).
PASS_EKU = x509.ObjectIdentifier("1.2.840.113635.100.4.14")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CertificateError(ValueError):
    """A user-facing reason why an upload cannot be used."""


@dataclass(frozen=True)
class PassCertificate:
    certificate: x509.Certificate
    key: PrivateKey
    pass_type_id: str
    team_id: str
    organization: str
    expires_at: datetime

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def load_certificate(data: bytes) -> x509.Certificate:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(_("The file is not a certificate.")) from exc


def load_private_key(data: bytes, password: bytes | None = None) -> PrivateKey:
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=password or None)
        else:
            key = serialization.load_der_private_key(data, password=password or None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(_("The file is not a private key, or its password is wrong.")) from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(_("Only RSA and EC private keys are supported."))
    return key


def _same_public_key(certificate: x509.Certificate, key: PrivateKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def pass_certificate(certificate: x509.Certificate, key: PrivateKey) -> PassCertificate:
    """Check that the key belongs to the certificate and read the identifiers Apple puts in it."""
    if not _same_public_key(certificate, key):
        raise CertificateError(_("The private key does not match the certificate."))
    subject = certificate.subject
    pass_type_id = _attr(subject, NameOID.USER_ID)
    if not pass_type_id:
        raise CertificateError(_("The certificate has no pass type identifier (UID) in its subject."))
    return PassCertificate(
        certificate=certificate,
        key=key,
        pass_type_id=pass_type_id,
        team_id=_attr(subject, NameOID.ORGANIZATIONAL_UNIT_NAME),
        organization=_attr(subject, NameOID.ORGANIZATION_NAME),
        expires_at=certificate.not_valid_after_utc,
    )


def from_pem(certificate_data: bytes, key_data: bytes, key_password: bytes | None = None) -> PassCertificate:
    return pass_certificate(load_certificate(certificate_data), load_private_key(key_data, key_password))


def from_p12(data: bytes, password: bytes | None) -> tuple[PassCertificate, list[x509.Certificate]]:
    """The pass certificate and key from a .p12, plus any further certificates it carries."""
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, password or None)
    except ValueError as exc:
        raise CertificateError(_("The .p12 file cannot be opened: wrong password or not a .p12 file.")) from exc
    if certificate is None or key is None:
        raise CertificateError(_("The .p12 file must hold a certificate and its private key."))
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(_("Only RSA and EC private keys are supported."))
    return pass_certificate(certificate, key), list(extra)


def check_issuer(certificate: x509.Certificate, intermediate: x509.Certificate) -> None:
    """The WWDR certificate must be the one that issued the pass certificate (WALLET.md A6)."""
    try:
        certificate.verify_directly_issued_by(intermediate)
    except (ValueError, TypeError, Exception) as exc:  # InvalidSignature is not a ValueError
        raise CertificateError(_("The intermediate (WWDR) certificate did not issue this pass certificate.")) from exc


# --- Google service account --------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey
    private_key_id: str
    token_uri: str
    raw: dict[str, Any]


GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret


def service_account(data: bytes | str) -> ServiceAccount:
    try:
        raw = json.loads(data)
        email = raw["client_email"]
        key = serialization.load_pem_private_key(raw["private_key"].encode(), password=None)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CertificateError(_("The file is not a Google service-account JSON key.")) from exc
    if not isinstance(key, rsa.RSAPrivateKey) or not isinstance(email, str) or "@" not in email:
        raise CertificateError(_("The file is not a Google service-account JSON key."))
    return ServiceAccount(
        client_email=email,
        private_key=key,
        private_key_id=str(raw.get("private_key_id", "")),
        token_uri=str(raw.get("token_uri") or GOOGLE_TOKEN_URI),
        raw=raw,
    )


# --- Development chain ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DevChain:
    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    pass_cert: x509.Certificate
    pass_key: rsa.RSAPrivateKey

    def pem(self, certificate: x509.Certificate) -> bytes:
        return certificate.public_bytes(serialization.Encoding.PEM)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _ca(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey,
        now: datetime, days: int, path_length: int | None) -> x509.Certificate:  # fmt: skip
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def development_chain(*, pass_type_id: str, team_id: str, organization: str, days: int = 365) -> DevChain:
    """A throwaway root → "WWDR" → pass certificate chain shaped like Apple's (UID = pass type id)."""
    now = datetime.now(UTC)
    root_key, inter_key, pass_key = _key(), _key(), _key()
    root_name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Kopilka Development Root CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kopilka Development"),
    ])  # fmt: skip
    inter_name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "Kopilka Development WWDR Stand-in"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "G4"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kopilka Development"),
    ])  # fmt: skip
    root = _ca(root_name, root_key, root_name, root_key, now, days + 3650, 1)
    intermediate = _ca(inter_name, inter_key, root_name, root_key, now, days + 365, 0)
    subject = x509.Name([
        x509.NameAttribute(NameOID.USER_ID, pass_type_id),
        x509.NameAttribute(NameOID.COMMON_NAME, f"Pass Type ID: {pass_type_id}"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, team_id),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "RU"),
    ])  # fmt: skip
    pass_cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(inter_name)
        .public_key(pass_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([PASS_EKU, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(inter_key.public_key()), critical=False)
        .sign(inter_key, hashes.SHA256())
    )
    return DevChain(root, root_key, intermediate, inter_key, pass_cert, pass_key)


def development_service_account(*, project: str = "kopilka-dev") -> bytes:
    """A service-account JSON key shaped like Google's, with a fresh RSA key (no Google behind it)."""
    key = _key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps({
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": f"wallet@{project}.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**20)),
        "token_uri": GOOGLE_TOKEN_URI,
    }, indent=2).encode()  # fmt: skip


def server_certificate(chain_root: x509.Certificate, root_key: rsa.RSAPrivateKey, host: str = "127.0.0.1"
                       ) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:  # fmt: skip
    """A TLS server certificate for ``host`` issued by a development root (for local fakes)."""
    import ipaddress

    now = datetime.now(UTC)
    key = _key()
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        san = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(chain_root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return cert, key
