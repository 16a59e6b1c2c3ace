"""Mechanics, levels, the points ledger, purchases and refunds, products, coupons, certificates,
stamps, tickets (PRODUCT.md B2–B10, C4).

The ledger is append-only. A positive entry is a *lot*: it becomes part of the balance at
``available_at`` (it is written then; not-yet-available points wait in ``PendingAccrual``) and burns at
``expires_at``. ``remaining`` is the lot's state (what is still unspent), not history; every
consumption of a lot is a ``LotConsumption`` row, so a refund can give back the very lots a purchase
spent, with their original expiry.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel

ZERO = Decimal("0.00")


def money(verbose_name: str | object = "", **kwargs: object) -> models.DecimalField:
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)  # type: ignore[arg-type]


def new_levels_stamp() -> str:
    """A new value for ``Mechanic.levels_stamp``: set it whenever a mechanic's levels change."""
    return secrets.token_hex(8)


def percent(verbose_name: str | object = "") -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=5, decimal_places=2, default=ZERO)  # type: ignore[arg-type]


class Mechanic(TenantModel):
    """Тип механики (B2). The percentages here apply when a card has no level."""

    class Kind(models.TextChoices):
        BONUS = "bonus", _("Bonus")
        DISCOUNT = "discount", _("Discount")
        GIFT = "gift", _("Gift")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.BONUS)
    accrual_percent = percent(_("accrual %"))
    redeem_max_percent = percent(_("redemption cap %"))
    discount_percent = percent(_("discount %"))
    reset_monthly = models.BooleanField(
        _("reset the purchase sum every month"), default=False,
        help_text=_("On the 1st of every month the accumulated sum starts from zero and levels follow it."),
    )
    welcome_points = money(_("welcome points"))
    welcome_points_lifetime_days = models.PositiveIntegerField(_("welcome points lifetime, days"), null=True, blank=True)
    points_lifetime_days = models.PositiveIntegerField(
        _("points lifetime, days"), null=True, blank=True, help_text=_("Empty: points never burn.")
    )
    accrual_delay_hours = models.PositiveIntegerField(
        _("accrual delay, hours"), default=0, help_text=_("Points become spendable this many hours after the purchase.")
    )
    referrer_points = money(_("points for the referrer"))
    newcomer_points = money(_("points for the newcomer"))
    rounding_note = models.CharField(
        _("rounding"), max_length=200, blank=True, default="",
        help_text=_("Points and money are rounded half-up to 0.01."),
    )
    levels_stamp = models.CharField(
        max_length=16, default=new_levels_stamp, editable=False,
        help_text="changes with the levels; keys each process's cache of them (the card's read brings it along)",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("mechanic")
        verbose_name_plural = _("mechanics")

    def __str__(self) -> str:
        return self.name


class Level(models.Model):
    """A level of a mechanic: reached when the cumulative purchase sum is at least ``threshold``."""

    mechanic = models.ForeignKey(Mechanic, on_delete=models.CASCADE, related_name="levels")
    name = models.CharField(_("name"), max_length=100)
    threshold = money(_("threshold"))
    accrual_percent = percent(_("accrual %"))
    redeem_max_percent = percent(_("redemption cap %"))
    discount_percent = percent(_("discount %"))
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["mechanic_id", "threshold", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["mechanic", "threshold"], name="level_threshold_unique_per_mechanic"),
        ]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return self.name


# --- Products (B5, C4) ------------------------------------------------------------------------


class AccrualRule(models.TextChoices):
    DEFAULT = "default", _("As the level says")
    FIXED = "fixed", _("Fixed points per item")
    PERCENT = "percent", _("Own accrual %")
    EXCLUDED = "excluded", _("No accrual")


class ProductCategory(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    accrual_rule = models.CharField(_("accrual"), max_length=16, choices=AccrualRule.choices, default=AccrualRule.DEFAULT)
    accrual_value = money(_("points per item or %"))
    excluded_from_redemption = models.BooleanField(_("points cannot pay for it"), default=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="category_name_unique_per_business"),
        ]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self) -> str:
        return self.name


class Product(TenantModel):
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        ProductCategory, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="products",
    )
    price = money(_("price"))
    barcode = models.CharField(_("barcode"), max_length=64, blank=True)
    accrual_rule = models.CharField(_("accrual"), max_length=16, choices=AccrualRule.choices, default=AccrualRule.DEFAULT)
    accrual_value = money(_("points per item or %"))
    excluded_from_redemption = models.BooleanField(_("points cannot pay for it"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["business", "sku"], name="product_sku_unique_per_business")]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


# --- Purchases and refunds --------------------------------------------------------------------


class Purchase(TenantModel):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")

    public_id = models.CharField(max_length=32, unique=True)
    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="purchases")
    point_of_sale = models.ForeignKey(
        "accounts.PointOfSale", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receipt_id = models.CharField(_("receipt"), max_length=128)
    amount = money(_("amount"))
    discount = money(_("discount"))
    points_redeemed = money(_("points redeemed"))
    points_accrued = money(_("points accrued"))
    payable = money(_("payable"))
    balance_after = money(_("balance after"))
    stamps_added = models.PositiveIntegerField(default=0)
    refunded_amount = money(_("refunded amount"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.CONFIRMED)
    counts_for_level_since = models.DateField(
        null=True, blank=True, help_text="the card's purchase period this purchase was added to"
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "point_of_sale", "receipt_id"], name="purchase_receipt_unique_per_pos"
            ),
            models.UniqueConstraint(
                fields=["business", "receipt_id"],
                condition=models.Q(point_of_sale__isnull=True),
                name="purchase_receipt_unique_without_pos",
            ),
        ]
        indexes = [models.Index(fields=["business", "-created_at"])]
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")

    def __str__(self) -> str:
        return self.public_id


class PurchaseLine(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    sku = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    price = money()
    total = money()
    discount = money()
    points_redeemed = money()
    payable = money()
    points = money()
    refunded_quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))

    class Meta:
        ordering = ["purchase_id", "position"]

    def __str__(self) -> str:
        return f"{self.sku or self.name} × {self.quantity}"


class Refund(TenantModel):
    public_id = models.CharField(max_length=32, unique=True)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    amount = money(_("amount"))
    payable_refunded = money()
    points_returned = money(_("points returned"))
    points_taken_back = money(_("points taken back"))
    points_shortfall = money(_("points shortfall"))
    points_forgiven_expired = money()
    points_not_returned_expired = money()
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return self.public_id


# --- The ledger -------------------------------------------------------------------------------


class LedgerEntry(TenantModel):
    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("Accrual")
        REDEMPTION = "redemption", _("Redemption")
        EXPIRY = "expiry", _("Expiry")
        MANUAL = "manual", _("Manual adjustment")
        GIFT = "gift", _("Gift")
        PURCHASED = "purchased", _("Purchased points")
        REFUND = "refund", _("Refund")
        IMPORT = "import", _("Import")
        WELCOME = "welcome", _("Welcome points")
        REFERRAL = "referral", _("Referral reward")
        REWARD = "reward", _("Reward exchange")

    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("points"), max_digits=14, decimal_places=2)
    balance_after = money(_("balance after"))
    available_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    remaining = money(help_text="positive lots: what is still unspent (lot state, not history)")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    point_of_sale = models.ForeignKey(
        "accounts.PointOfSale", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=255, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["business", "-created_at"]),
            models.Index(
                fields=["card", "expires_at"], condition=models.Q(remaining__gt=0), name="ledger_open_lots"
            ),
            models.Index(
                fields=["expires_at"], condition=models.Q(remaining__gt=0), name="ledger_expiring_lots"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_not_zero"),
            models.CheckConstraint(condition=models.Q(remaining__gte=0), name="ledger_remaining_not_negative"),
        ]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class LotConsumption(models.Model):
    """``amount`` of lot ``lot`` was spent (or burnt) by the negative entry ``entry``."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.CASCADE, related_name="consumed")
    lot = models.ForeignKey(LedgerEntry, on_delete=models.CASCADE, related_name="consumptions")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.entry_id}←{self.lot_id}: {self.amount}"


class PendingAccrual(TenantModel):
    """Points accrued but not spendable yet (B4 delayed accrual). Not in the balance, not in the ledger:
    ``activate_due_points`` writes the ledger entry when ``available_at`` comes. A refund before that
    takes points back from here first (``taken_back``)."""

    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="pending")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.PROTECT, related_name="pending")
    kind = models.CharField(max_length=16, choices=LedgerEntry.Kind.choices, default=LedgerEntry.Kind.ACCRUAL)
    amount = money()
    taken_back = money()
    available_at = models.DateTimeField(db_index=True)
    lifetime_days = models.PositiveIntegerField(null=True, blank=True)
    entry = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="pending")
    point_of_sale = models.ForeignKey(
        "accounts.PointOfSale", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["available_at", "id"]
        indexes = [
            models.Index(fields=["available_at"], condition=models.Q(entry__isnull=True), name="pending_due"),
        ]

    def __str__(self) -> str:
        return f"pending {self.amount - self.taken_back}"

    @property
    def left(self) -> Decimal:
        return self.amount - self.taken_back


# --- Coupons (B7) -----------------------------------------------------------------------------


class CouponGroup(TenantModel):
    class Reward(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Fixed amount off")
        FREE_ITEM = "free_item", _("Free item")
        POINTS = "points", _("Points")

    name = models.CharField(_("name"), max_length=200)
    title = models.CharField(_("title for the customer"), max_length=200, blank=True)
    reward = models.CharField(_("reward"), max_length=16, choices=Reward.choices, default=Reward.PERCENT)
    value = money(_("value"))
    item_sku = models.CharField(_("free item SKU"), max_length=64, blank=True)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    prefix = models.CharField(_("code prefix"), max_length=16, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("coupon group")
        verbose_name_plural = _("coupon groups")

    def __str__(self) -> str:
        return self.name


class Coupon(TenantModel):
    group = models.ForeignKey(CouponGroup, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(_("code"), max_length=64)
    card = models.ForeignKey("cards.Card", null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons")
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons")
    redeemed_card = models.ForeignKey("cards.Card", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["business", "code"], name="coupon_code_unique_per_business")]
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")

    def __str__(self) -> str:
        return self.code


# --- Gift certificates and the reward catalogue (B8) ------------------------------------------


class GiftCertificate(TenantModel):
    code = models.CharField(_("code"), max_length=64)
    initial_amount = money(_("amount"))
    balance = money(_("balance"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    card = models.ForeignKey("cards.Card", null=True, blank=True, on_delete=models.SET_NULL, related_name="certificates")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="certificate_code_unique_per_business"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="certificate_balance_not_negative"),
        ]
        verbose_name = _("gift certificate")
        verbose_name_plural = _("gift certificates")

    def __str__(self) -> str:
        return self.code


class CertificateSpending(models.Model):
    certificate = models.ForeignKey(GiftCertificate, on_delete=models.PROTECT, related_name="spendings")
    amount = money()
    balance_after = money()
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    point_of_sale = models.ForeignKey(
        "accounts.PointOfSale", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.certificate_id}: {self.amount}"


class RewardCatalogItem(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    points_cost = money(_("points"))
    certificate_amount = money(_("certificate amount"))
    certificate_lifetime_days = models.PositiveIntegerField(_("certificate lifetime, days"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["points_cost", "id"]
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")

    def __str__(self) -> str:
        return self.name


# --- Stamps (B6) and tickets (B9) --------------------------------------------------------------


class StampReward(TenantModel):
    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, related_name="stamp_rewards")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Ticket(TenantModel):
    card = models.OneToOneField("cards.Card", on_delete=models.PROTECT, related_name="ticket")
    event_name = models.CharField(_("event"), max_length=200)
    event_at = models.DateTimeField(_("event time"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_in_point_of_sale = models.ForeignKey(
        "accounts.PointOfSale", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_in_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return self.event_name
