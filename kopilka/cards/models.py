"""Card templates (B1) and the cards issued from them.

The balance, pending points, level and purchase total on a card are caches: the loyalty services
change them only in the transaction that writes the ledger, under a row lock on the card.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel

ZERO = Decimal("0.00")


class CardTemplate(TenantModel):
    class Type(models.TextChoices):
        INFORMATIONAL = "informational", _("Informational")
        DISCOUNT = "discount", _("Discount")
        BONUS = "bonus", _("Bonus")
        GIFT = "gift", _("Gift certificate")
        COUPON = "coupon", _("Coupon")
        STAMP = "stamp", _("Stamp card")
        TICKET = "ticket", _("Event ticket")
        API = "api", _("API card")

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.BONUS)
    mechanic = models.ForeignKey(
        "loyalty.Mechanic",
        verbose_name=_("mechanic"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="templates",
    )
    is_active = models.BooleanField(_("active"), default=True)
    stamps_required = models.PositiveIntegerField(
        _("stamps for a reward"), default=0, help_text=_("Stamp cards: how many stamps give the reward.")
    )
    stamps_per_purchase = models.PositiveIntegerField(_("stamps per purchase"), default=1)
    stamp_sku = models.CharField(
        _("qualifying product SKU"),
        max_length=64,
        blank=True,
        help_text=_("When set, a stamp is added per unit of this product instead of per purchase."),
    )
    stamp_reward = models.CharField(_("stamp reward"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("card template")
        verbose_name_plural = _("card templates")

    def __str__(self) -> str:
        return self.name


class Card(TenantModel):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        DELETED = "deleted", _("Deleted")

    template = models.ForeignKey(CardTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="cards")
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="cards"
    )
    number = models.CharField(_("number"), max_length=32)
    barcode_payload = models.CharField(_("barcode payload"), max_length=128)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ISSUED)
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=ZERO)
    pending_points = models.DecimalField(_("pending points"), max_digits=14, decimal_places=2, default=ZERO)
    level = models.ForeignKey(
        "loyalty.Level", verbose_name=_("level"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level_locked = models.BooleanField(
        _("level set by hand"), default=False, help_text=_("Automatic level changes skip this card.")
    )
    purchase_total = models.DecimalField(
        _("purchase sum for the level"), max_digits=14, decimal_places=2, default=ZERO
    )
    purchase_period_start = models.DateField(null=True, blank=True)
    purchase_count = models.PositiveIntegerField(default=0)
    stamps = models.PositiveIntegerField(_("stamps"), default=0)
    referral_code = models.CharField(_("referral code"), max_length=16)
    referred_by = models.ForeignKey(
        "self", verbose_name=_("referred by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    referral_rewarded_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "number"], name="card_number_unique_per_business"),
            models.UniqueConstraint(fields=["business", "barcode_payload"], name="card_barcode_unique_per_business"),
            models.UniqueConstraint(fields=["business", "referral_code"], name="card_referral_unique_per_business"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="card_balance_not_negative"),
            models.CheckConstraint(condition=models.Q(pending_points__gte=0), name="card_pending_not_negative"),
        ]
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number

    @property
    def is_usable(self) -> bool:
        return self.status in (self.Status.ISSUED, self.Status.ACTIVE)
