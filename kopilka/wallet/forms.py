"""Cabinet forms of Настройки → Сертификат. Parsing happens in ``clean``: a bad upload saves nothing."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from kopilka.wallet import certificates, services
from kopilka.wallet.models import TemplateDesign, WalletSettings

MAX_UPLOAD = 256 * 1024


def _read(upload: UploadedFile | None) -> bytes:
    if upload is None:
        return b""
    if upload.size and upload.size > MAX_UPLOAD:
        raise forms.ValidationError(_("The file is too large."))
    return upload.read()


class AppleCertificateForm(forms.Form):
    certificate = forms.FileField(label=_("Pass certificate (.pem or .cer)"), required=False)
    private_key = forms.FileField(label=_("Private key (.pem)"), required=False)
    key_password = forms.CharField(label=_("Private key password"), required=False, widget=forms.PasswordInput)
    p12 = forms.FileField(label=_("Or a .p12 file with certificate and key"), required=False)
    p12_password = forms.CharField(label=_(".p12 password"), required=False, widget=forms.PasswordInput)
    wwdr = forms.FileField(label=_("Apple WWDR intermediate certificate"), required=False)

    def __init__(self, *args: Any, current: WalletSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            p12 = _read(data.get("p12"))
            extra: list[x509.Certificate] = []
            if p12:
                parsed, extra = certificates.from_p12(p12, (data.get("p12_password") or "").encode() or None)
            else:
                cert_bytes, key_bytes = _read(data.get("certificate")), _read(data.get("private_key"))
                if not cert_bytes or not key_bytes:
                    raise forms.ValidationError(_("Upload the certificate and its private key, or a .p12 file."))
                parsed = certificates.from_pem(cert_bytes, key_bytes, (data.get("key_password") or "").encode() or None)
            wwdr_bytes = _read(data.get("wwdr"))
            candidates = [certificates.load_certificate(wwdr_bytes)] if wwdr_bytes else list(extra)
            if not wwdr_bytes and self.current is not None and self.current.apple_wwdr_pem:
                candidates.append(certificates.load_certificate(self.current.apple_wwdr_pem.encode()))
            intermediate = next((c for c in candidates if c.subject == parsed.certificate.issuer), None)
            if intermediate is None:
                raise forms.ValidationError(
                    _("Upload the Apple WWDR intermediate certificate that issued this pass certificate.")
                )
            certificates.check_issuer(parsed.certificate, intermediate)
        except certificates.CertificateError as exc:
            raise forms.ValidationError(str(exc)) from exc
        data["parsed"] = parsed
        data["intermediate"] = intermediate
        return data


class GoogleSettingsForm(forms.Form):
    issuer_id = forms.RegexField(label=_("Google issuer id"), regex=r"^\d{1,32}$", max_length=32,
                                 error_messages={"invalid": _("The issuer id is a number.")})  # fmt: skip
    service_account = forms.FileField(label=_("Service-account key (JSON)"), required=False)

    def __init__(self, *args: Any, current: WalletSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current = current

    def clean_service_account(self) -> bytes:
        raw = _read(self.cleaned_data.get("service_account"))
        if raw:
            try:
                certificates.service_account(raw)
            except certificates.CertificateError as exc:
                raise forms.ValidationError(str(exc)) from exc
        elif self.current is None or not self.current.google_key_encrypted:
            raise forms.ValidationError(_("Upload the service-account key."))
        return raw


class OrganizationForm(forms.Form):
    organization_name = forms.CharField(label=_("Organisation name"), max_length=200)


def png_upload(upload: UploadedFile | None) -> str | None:
    """An uploaded PNG as a ``data:`` URL; None when nothing was uploaded."""
    if not upload:
        return None
    if upload.size and upload.size > services.IMAGE_MAX_BYTES:
        raise forms.ValidationError(_("The image must be at most 256 KB."))
    return services.png_data_url(upload.read())


class TemplateDesignForm(forms.Form):
    """Лояльность → template design (D1). Level themes are fields ``level_<id>_<colour>`` and ``level_<id>_strip``."""

    background = forms.CharField(label=_("Background colour"), max_length=7)
    foreground = forms.CharField(label=_("Text colour"), max_length=7)
    label = forms.CharField(label=_("Label colour"), max_length=7)
    logo_text = forms.CharField(label=_("Logo text"), max_length=40, required=False)
    barcode_format = forms.ChoiceField(label=_("Barcode format"), choices=TemplateDesign.BarcodeFormat.choices)
    barcode_content = forms.ChoiceField(label=_("Barcode content"), choices=TemplateDesign.BarcodeContent.choices)
    front_fields = forms.CharField(
        label=_("Front fields"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One field a line: “Label: text”, variables like {{balance}}."),
    )  # fmt: skip
    back_fields = forms.CharField(
        label=_("Back fields"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One field a line: “Label: text”, variables like {{balance}}."),
    )  # fmt: skip
    description = forms.CharField(
        label=_("Business information"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    logo_file = forms.FileField(label=_("Logo (PNG)"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    strip_file = forms.FileField(label=_("Strip (PNG)"), required=False)
    remove_strip = forms.BooleanField(label=_("Remove the strip"), required=False)

    def __init__(self, *args: Any, levels: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.levels = levels
        for level in levels:
            for key, label in (("background", _("Background")), ("foreground", _("Text")), ("label", _("Label"))):
                self.fields[f"level_{level.pk}_{key}"] = forms.CharField(label=label, max_length=7, required=False)
            self.fields[f"level_{level.pk}_strip"] = forms.FileField(label=_("Strip (PNG)"), required=False)
            self.fields[f"level_{level.pk}_remove_strip"] = forms.BooleanField(label=_("Remove"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ["logo_file", "strip_file", *(f"level_{level.pk}_strip" for level in self.levels)]:
            if name in self.errors:
                continue
            try:
                data[name] = png_upload(data.get(name))
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data

    def level_rows(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [(level, [self[f"level_{level.pk}_{key}"] for key in ("background", "foreground", "label")])
                for level in self.levels]  # fmt: skip

    def level_strips(self) -> list[tuple[Any, forms.BoundField, forms.BoundField]]:
        return [(level, self[f"level_{level.pk}_strip"], self[f"level_{level.pk}_remove_strip"])
                for level in self.levels]  # fmt: skip

    def design_data(self, current: TemplateDesign | None = None) -> dict[str, Any]:
        """The service's data; images not uploaded (and not removed) stay as ``current`` has them."""
        skip = ("level_", "logo_file", "strip_file", "remove_logo", "remove_strip")
        data = {k: v for k, v in self.cleaned_data.items() if not k.startswith(skip)}
        cd = self.cleaned_data
        data["logo_image"] = "" if cd.get("remove_logo") else cd.get("logo_file")
        data["strip_image"] = "" if cd.get("remove_strip") else cd.get("strip_file")
        stored = (current.level_themes if current is not None else None) or {}
        themes: dict[str, dict[str, str]] = {}
        for level in self.levels:
            theme = {key: self.cleaned_data.get(f"level_{level.pk}_{key}") or ""
                     for key in ("background", "foreground", "label")}  # fmt: skip
            if cd.get(f"level_{level.pk}_remove_strip"):
                theme["strip"] = ""
            else:
                theme["strip"] = cd.get(f"level_{level.pk}_strip") or (stored.get(str(level.pk)) or {}).get("strip", "")
            if any(theme.values()):
                themes[str(level.pk)] = {k: v for k, v in theme.items() if v}
        data["level_themes"] = themes
        return data

    @staticmethod
    def initial_for(design: TemplateDesign) -> dict[str, Any]:
        initial: dict[str, Any] = {name: getattr(design, name) for name in (
            "background", "foreground", "label", "logo_text", "barcode_format", "barcode_content",
            "front_fields", "back_fields", "description")}  # fmt: skip
        for level_id, theme in (design.level_themes or {}).items():
            for key, value in theme.items():
                if key != "strip":
                    initial[f"level_{level_id}_{key}"] = value
        return initial
