"""Sections, access levels and the standard roles (PRODUCT.md A4).

A role grants each section one of three levels: none, view or edit. The Office Owner has every
section at edit and is the only one who sees personal data in full (A5).

Views declare their section with :func:`kopilka.core.access.section_required`; that decorator is
the one place where permissions are checked for cabinet pages.
"""

from __future__ import annotations

from enum import IntEnum

from django.utils.translation import gettext_lazy as _


class Level(IntEnum):
    NONE = 0
    VIEW = 1
    EDIT = 2

    @classmethod
    def parse(cls, value: str | int | None) -> Level:
        if isinstance(value, int):
            return cls(value)
        return {"none": cls.NONE, "view": cls.VIEW, "edit": cls.EDIT}.get(value or "none", cls.NONE)

    @property
    def code(self) -> str:
        return self.name.lower()


LEVEL_CHOICES = [("none", _("No access")), ("view", _("View")), ("edit", _("Edit"))]

# Sections of the cabinet, in the order of the role editor.
SECTIONS: dict[str, object] = {
    "clients": _("Clients"),
    "transactions": _("Transactions"),
    "analytics": _("Analytics"),
    "marketing": _("Marketing"),
    "loyalty": _("Loyalty"),
    "points_of_sale": _("Points of sale"),
    "certificates": _("Certificates"),
    "settings": _("Settings"),
    "variables": _("Variables"),
    "forms": _("Registration forms"),
    "integrations": _("Integrations"),
    "billing": _("Billing"),
    "cashier": _("Cashier"),
}

E, V = "edit", "view"

STANDARD_ROLES: dict[str, dict[str, object]] = {
    "administrator": {
        "name": _("Administrator"),
        "permissions": dict.fromkeys(SECTIONS, E),
    },
    "marketer": {
        "name": _("Marketer"),
        "permissions": {
            "clients": V,
            "transactions": V,
            "analytics": V,
            "marketing": E,
            "loyalty": V,
            "points_of_sale": V,
            "variables": E,
            "forms": E,
        },
    },
    "manager": {
        "name": _("Manager"),
        "permissions": {
            "clients": E,
            "transactions": V,
            "analytics": V,
            "marketing": V,
            "loyalty": V,
            "points_of_sale": V,
            "cashier": E,
        },
    },
    "accountant": {
        "name": _("Accountant"),
        "permissions": {
            "clients": V,
            "transactions": V,
            "analytics": V,
            "billing": E,
        },
    },
    "cashier": {
        "name": _("Cashier"),
        "permissions": {"cashier": E},
    },
}


def normalise_permissions(raw: dict[str, str] | None) -> dict[str, str]:
    """Every section present, unknown sections dropped, levels as their codes."""
    raw = raw or {}
    return {section: Level.parse(raw.get(section)).code for section in SECTIONS}
