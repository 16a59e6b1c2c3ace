"""The cabinet's navigation: the left sidebar and the settings gear (Loona manual §5.2).

Only sections that work are listed; later capabilities add their entries here. An entry shows when
the member's role gives at least *view* on its section (``None`` = every member).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class NavItem:
    label: str | Promise
    url_name: str
    section: str | None
    icon: str = ""
    owner_only: bool = False


SIDEBAR: list[NavItem] = [
    NavItem(_("Home"), "core:home", None, "home"),
    NavItem(pgettext_lazy("navigation", "Cashier"), "cashier:page", "cashier", "cash-register"),
    NavItem(_("Clients"), "loyalty:client_list", "clients", "users"),
    NavItem(_("Transactions"), "loyalty:transaction_list", "transactions", "receipt"),
    NavItem(_("Loyalty"), "loyalty:template_list", "loyalty", "id"),
    NavItem(_("Mechanic type"), "loyalty:mechanic_list", "loyalty", "adjustments"),
    NavItem(_("Points of sale"), "accounts:pos_list", "points_of_sale", "map-pin"),
    NavItem(_("Forms"), "enrollment:form_list", "forms", "forms"),
    NavItem(_("Variables"), "enrollment:variable_list", "variables", "variable"),
    NavItem("UTM", "enrollment:utm_list", "forms", "link"),
    NavItem(_("Blacklist"), "enrollment:blacklist", "clients", "ban"),
    NavItem(_("Deleted cards"), "enrollment:deleted_cards", "clients", "trash"),
    NavItem(_("Integrations"), "pos:api_keys", "integrations", "plug"),
    NavItem(_("Administrator actions"), "core:audit_log", "settings", "history"),
]

SETTINGS: list[NavItem] = [
    NavItem(_("Profile"), "accounts:profile", "settings"),
    NavItem(_("Users"), "accounts:members", "settings"),
    NavItem(_("Roles"), "accounts:roles", "settings"),
    NavItem(_("Security"), "accounts:security", None),
    NavItem(_("Certificate"), "wallet:certificates", "certificates"),
]


def visible(items: list[NavItem], membership) -> list[NavItem]:  # type: ignore[no-untyped-def]
    if membership is None:
        return []
    return [
        item
        for item in items
        if (item.section is None or membership.can(item.section))
        and (not item.owner_only or membership.is_owner)
    ]
