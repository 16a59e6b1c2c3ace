from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.accounts.models import Business, PointOfSale
from kopilka.pos.models import DEFAULT_PERMISSIONS, PERMISSIONS


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("E.g. “Till 1 at Main street”."))
    point_of_sale = forms.ModelChoiceField(
        label=_("Point of sale"),
        queryset=PointOfSale.objects.none(),
        required=False,
        empty_label=_("Any point of sale"),
        help_text=_("A bound key records every operation against this point of sale."),
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        choices=list(PERMISSIONS.items()),
        initial=DEFAULT_PERMISSIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["point_of_sale"].queryset = PointOfSale.objects.filter(business=business, is_active=True)  # type: ignore[attr-defined]
