"""Businesses (tenants), people, memberships, roles, invitations, points of sale."""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel
from kopilka.core.permissions import SECTIONS, Level, normalise_permissions

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones()) if "/" in tz]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who works in the cabinet. One person may belong to several businesses."""

    email = models.EmailField(_("e-mail"), unique=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    last_business = models.ForeignKey(
        "Business", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Business(models.Model):
    """A tenant: a café, a shop, a salon. Everything else belongs to one."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    legal_entity = models.CharField(_("legal entity"), max_length=300, blank=True)
    phone = models.CharField(_("company phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", choices=TIME_ZONE_CHOICES
    )
    country = models.CharField(_("country"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("business")
        verbose_name_plural = _("businesses")

    def __str__(self) -> str:
        return self.name


class PointOfSale(TenantModel):
    """A till location (A6); operations of a bound cashier are recorded against it."""

    code = models.SlugField(_("code"), max_length=64, help_text=_("Used by the POS API and tills."))
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", choices=TIME_ZONE_CHOICES
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="pos_code_unique_per_business")
        ]
        verbose_name = _("point of sale")
        verbose_name_plural = _("points of sale")

    def __str__(self) -> str:
        return self.name


class Role(TenantModel):
    """A set of per-section levels. Standard roles carry a ``code`` and are not edited."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(max_length=32, blank=True)
    permissions = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "name"], name="role_name_unique_per_business"),
        ]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name

    @property
    def is_standard(self) -> bool:
        return bool(self.code)

    def level(self, section: str) -> Level:
        return Level.parse(normalise_permissions(self.permissions).get(section))

    def section_levels(self) -> list[tuple[str, object, str]]:
        perms = normalise_permissions(self.permissions)
        return [(code, label, perms[code]) for code, label in SECTIONS.items()]


class Membership(TenantModel):
    """A person's place in a business: owner flag, role, optional point of sale."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    is_owner = models.BooleanField(default=False)
    point_of_sale = models.ForeignKey(
        PointOfSale, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.business}"

    def level(self, section: str) -> Level:
        if self.is_owner:
            return Level.EDIT
        if self.role is None:
            return Level.NONE
        return self.role.level(section)

    def can(self, section: str, level: Level = Level.VIEW) -> bool:
        return self.is_active and self.level(section) >= level

    @property
    def sees_personal_data(self) -> bool:
        return self.is_owner

    @property
    def role_label(self) -> str:
        if self.is_owner:
            return str(_("Office Owner"))
        return self.role.name if self.role else "—"


class Invitation(TenantModel):
    """An e-mailed link to join a business with a role; expires and works once."""

    email = models.EmailField(_("e-mail"))
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="+")
    point_of_sale = models.ForeignKey(PointOfSale, null=True, blank=True, on_delete=models.SET_NULL)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class EmailCode(models.Model):
    """A 6-digit code e-mailed to confirm an address. Expires, works once, 5 tries at most."""

    class Purpose(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")

    email = models.EmailField()
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["email", "purpose"])]

    def __str__(self) -> str:
        return f"{self.purpose}:{self.email}"
