"""Wallet data: a business's certificates, the wallet state of each card, devices, the outbox cursor."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel


class WalletSettings(TenantModel):
    """Apple and Google credentials of one business (G4). Private keys are Fernet-encrypted (vault.py)."""

    organization_name = models.CharField(
        _("organisation name"), max_length=200, blank=True, help_text=_("Shown on the pass and in its notifications.")
    )
    apple_pass_type_id = models.CharField(_("pass type identifier"), max_length=255, blank=True)
    apple_team_id = models.CharField(_("team identifier"), max_length=32, blank=True)
    apple_certificate_pem = models.TextField(blank=True)  # public: a certificate is not a secret
    apple_key_encrypted = models.TextField(blank=True)
    apple_wwdr_pem = models.TextField(blank=True)
    apple_expires_at = models.DateTimeField(_("certificate expires"), null=True, blank=True)
    google_issuer_id = models.CharField(_("Google issuer id"), max_length=32, blank=True)
    google_service_account_email = models.CharField(max_length=255, blank=True)
    google_key_encrypted = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["business"], name="wallet_settings_one_per_business")]
        verbose_name = _("wallet settings")
        verbose_name_plural = _("wallet settings")

    def __str__(self) -> str:
        return self.apple_pass_type_id or str(self.business_id)

    @property
    def has_apple(self) -> bool:
        return bool(self.apple_pass_type_id and self.apple_certificate_pem and self.apple_key_encrypted)

    @property
    def has_google(self) -> bool:
        return bool(self.google_issuer_id and self.google_key_encrypted)


class PassState(TenantModel):
    """The wallet side of one card: its serial, the secrets in its links, when it last changed."""

    card = models.OneToOneField("cards.Card", on_delete=models.CASCADE, related_name="wallet_pass")
    serial_number = models.CharField(max_length=64, unique=True)
    authentication_token = models.CharField(max_length=64)
    download_token = models.CharField(max_length=64, unique=True)
    tag = models.BigIntegerField(default=0, db_index=True)  # "lastUpdated": grows with every change
    updated_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("wallet pass")
        verbose_name_plural = _("wallet passes")

    def __str__(self) -> str:
        return self.serial_number


class DeviceRegistration(TenantModel):
    """A device that installed a pass and wants pushes when it changes (Apple web service)."""

    pass_state = models.ForeignKey(PassState, on_delete=models.CASCADE, related_name="registrations")
    device_library_identifier = models.CharField(max_length=128)
    push_token = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pass_state", "device_library_identifier"], name="wallet_registration_once")
        ]
        indexes = [models.Index(fields=["device_library_identifier"])]

    def __str__(self) -> str:
        return f"{self.device_library_identifier} → {self.pass_state_id}"


HEX_COLOUR = RegexValidator(r"^#[0-9A-Fa-f]{6}$", _("A colour is written as #RRGGBB."))


class TemplateDesign(TenantModel):
    """How the wallet pass of a card template looks (D1): colours, logo text, barcode, fields, level themes."""

    class BarcodeFormat(models.TextChoices):
        QR = "PKBarcodeFormatQR", _("QR code")
        PDF417 = "PKBarcodeFormatPDF417", _("PDF417")
        AZTEC = "PKBarcodeFormatAztec", _("Aztec")
        CODE128 = "PKBarcodeFormatCode128", _("Code 128")

    class BarcodeContent(models.TextChoices):
        NUMBER = "number", _("Card number")
        PAYLOAD = "payload", _("Barcode payload")

    template = models.OneToOneField("cards.CardTemplate", on_delete=models.CASCADE, related_name="wallet_design")
    background = models.CharField(_("background colour"), max_length=7, default="#202124", validators=[HEX_COLOUR])
    foreground = models.CharField(_("text colour"), max_length=7, default="#FFFFFF", validators=[HEX_COLOUR])
    label = models.CharField(_("label colour"), max_length=7, default="#FFC400", validators=[HEX_COLOUR])
    logo_text = models.CharField(_("logo text"), max_length=40, blank=True)
    barcode_format = models.CharField(
        _("barcode format"), max_length=32, choices=BarcodeFormat.choices, default=BarcodeFormat.QR
    )
    barcode_content = models.CharField(
        _("barcode content"), max_length=16, choices=BarcodeContent.choices, default=BarcodeContent.PAYLOAD
    )
    front_fields = models.TextField(
        _("front fields"), blank=True, help_text=_("One field a line: “Label: text”, variables like {{balance}}.")
    )
    back_fields = models.TextField(
        _("back fields"), blank=True, help_text=_("One field a line: “Label: text”, variables like {{balance}}.")
    )
    description = models.TextField(_("business information"), blank=True)
    level_themes = models.JSONField(_("level themes"), default=dict, blank=True)
    # PNG ``data:`` URLs (≤ 256 KB; nothing serves media files). A level theme may carry its own "strip".
    logo_image = models.TextField(_("logo image"), blank=True)
    strip_image = models.TextField(_("strip image"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card design")
        verbose_name_plural = _("card designs")

    def __str__(self) -> str:
        return f"{self.template_id}"
