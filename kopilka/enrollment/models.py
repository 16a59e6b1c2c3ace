"""How a customer gets a card (PRODUCT.md D2, D3, D6–D11): variables, registration forms, page designs,
the template's public link, UTM links, phone verification, consents, the blacklist, card links.

Card, Customer and CardTemplate belong to other apps; what enrollment needs on them lives here in
side models (``TemplateJourney``, ``CardOrigin``, ``CardLink``, ``CustomerValue``).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel


def new_token() -> str:
    return secrets.token_urlsafe(16)


def short_token() -> str:
    return secrets.token_urlsafe(6)


class Variable(TenantModel):
    """A custom variable (Переменные, D8); system variables are defined in ``variables.SYSTEM``."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        CHOICE = "choice", _("Choice")

    key = models.CharField(_("key"), max_length=40)
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=8, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["business", "key"], name="variable_key_unique_per_business")]
        verbose_name = _("variable")
        verbose_name_plural = _("variables")

    def __str__(self) -> str:
        return self.key


class PageDesign(TenantModel):
    """Дизайн верификации / Дизайн отзывов (D3): colours, logo and texts of a public page."""

    class Kind(models.TextChoices):
        VERIFICATION = "verification", _("Verification design")
        REVIEW = "review", _("Review design")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    background_color = models.CharField(_("background colour"), max_length=7, default="#f6f8fb")
    accent_color = models.CharField(_("button colour"), max_length=7, default="#206bc4")
    text_color = models.CharField(_("text colour"), max_length=7, default="#1d273b")
    logo = models.TextField(_("logo"), blank=True, help_text="data: URL")
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("text"), blank=True)
    thanks_text = models.TextField(_("thank-you text"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("page design")
        verbose_name_plural = _("page designs")

    def __str__(self) -> str:
        return self.name


class RegistrationForm(TenantModel):
    """Формы → Регистрация (D2). ``fields`` is an ordered list of ``{"key": ..., "required": bool}``."""

    template = models.OneToOneField(
        "cards.CardTemplate", verbose_name=_("card template"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="registration_form",
    )  # fmt: skip
    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    logo = models.TextField(_("logo"), blank=True, help_text="data: URL")
    fields = models.JSONField(default=list, blank=True)
    terms_text = models.TextField(_("terms of use"), blank=True)
    marketing_text = models.TextField(_("consent to messages"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("registration form")
        verbose_name_plural = _("registration forms")

    def __str__(self) -> str:
        return self.name


class TemplateJourney(TenantModel):
    """The public side of a card template: its link token, wallet buttons, attached designs."""

    template = models.OneToOneField("cards.CardTemplate", on_delete=models.CASCADE, related_name="journey")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    show_apple = models.BooleanField(_("show “Add to Apple Wallet”"), default=True)
    show_google = models.BooleanField(_("show “Add to Google Wallet”"), default=True)
    verification_design = models.ForeignKey(
        PageDesign, verbose_name=_("verification design"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", limit_choices_to={"kind": PageDesign.Kind.VERIFICATION},
    )  # fmt: skip
    review_design = models.ForeignKey(
        PageDesign, verbose_name=_("review design"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", limit_choices_to={"kind": PageDesign.Kind.REVIEW},
    )  # fmt: skip

    def __str__(self) -> str:
        return f"journey of template {self.template_id}"


class UtmLink(TenantModel):
    """UTM (D9): a tagged link to a template's registration form with its own short token."""

    template = models.ForeignKey("cards.CardTemplate", verbose_name=_("card template"), on_delete=models.CASCADE,
                                 related_name="utm_links")  # fmt: skip
    name = models.CharField(_("name"), max_length=200)
    source = models.CharField(_("traffic source"), max_length=100)
    medium = models.CharField(_("medium"), max_length=100, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    token = models.CharField(max_length=16, unique=True, default=short_token)
    visits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("UTM link")
        verbose_name_plural = _("UTM links")

    def __str__(self) -> str:
        return self.name


class CardOrigin(TenantModel):
    """Where a card came from: the form, the UTM link and tags it was registered through."""

    card = models.OneToOneField("cards.Card", on_delete=models.CASCADE, related_name="origin")
    utm_link = models.ForeignKey(UtmLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="origins")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"origin of card {self.card_id}"


class CardLink(TenantModel):
    """The secret link of a card's public page (D6, D10): ``/c/<token>/``."""

    card = models.OneToOneField("cards.Card", on_delete=models.CASCADE, related_name="public_link")
    token = models.CharField(max_length=32, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"link of card {self.card_id}"


class CustomerValue(TenantModel):
    """The value of a custom variable for a customer (filled in the registration form)."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="variable_values")
    variable = models.ForeignKey(Variable, on_delete=models.CASCADE, related_name="values")
    value = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "variable"], name="customer_value_once")]

    def __str__(self) -> str:
        return f"{self.variable_id}={self.value}"


class Consent(TenantModel):
    """A customer's consent (D3): the exact text shown, when, from which address."""

    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms of use")
        MARKETING = "marketing", _("Messages")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="consents")
    template = models.ForeignKey(
        "cards.CardTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    accepted_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-accepted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} by customer {self.customer_id}"


class BlacklistEntry(TenantModel):
    """Черный список (D7): a phone that cannot register a card of a template (or of any, when empty)."""

    phone = models.CharField(_("phone"), max_length=20)
    template = models.ForeignKey(
        "cards.CardTemplate", verbose_name=_("card template"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="+", help_text=_("Empty: every template of the business."),
    )  # fmt: skip
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")  # fmt: skip

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")

    def __str__(self) -> str:
        return self.phone


class PhoneVerification(TenantModel):
    """One 4-digit code sent to a phone; the registration data waits here until the code is entered."""

    class Purpose(models.TextChoices):
        REGISTRATION = "registration"
        LOGIN = "login"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    phone = models.CharField(max_length=20)
    template = models.ForeignKey(
        "cards.CardTemplate", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    code_hash = models.CharField(max_length=128)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["phone", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code for {self.phone}"
