"""End customers (гости) of a business. They have no login; a phone in E.164 identifies them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core.models import TenantModel


class Customer(TenantModel):
    class Gender(models.TextChoices):
        UNKNOWN = "", _("Not specified")
        FEMALE = "f", _("Female")
        MALE = "m", _("Male")

    phone = models.CharField(_("phone"), max_length=20, help_text=_("E.164, e.g. +79991234567"))
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True, default="")
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "phone"], name="customer_phone_unique_per_business"),
        ]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.phone
