"""Forms of the loyalty cabinet pages. They check the shape of input; the rules live in the services."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kopilka.accounts.models import Business, PointOfSale
from kopilka.cards.models import Card, CardTemplate
from kopilka.loyalty.models import CouponGroup, LedgerEntry, Level, Mechanic


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def percent_field(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=5, decimal_places=2, initial=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )  # fmt: skip


# --- Тип механики --------------------------------------------------------------------------------


class MechanicForm(forms.ModelForm):
    class Meta:
        model = Mechanic
        fields = [
            "name", "kind", "reset_monthly", "welcome_points", "welcome_points_lifetime_days", "points_lifetime_days",
            "accrual_delay_hours", "referrer_points", "newcomer_points",
        ]  # fmt: skip
        labels = {"reset_monthly": _("Reset every month")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("welcome_points", "referrer_points", "newcomer_points"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, _("Cannot be negative."))
        if data.get("kind") == Mechanic.Kind.GIFT and data.get("reset_monthly"):
            self.add_error("reset_monthly", _("Only bonus and discount mechanics reset the purchase sum."))
        return data


class LevelForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Level"), max_length=100)
    threshold = forms.DecimalField(
        label=_("Purchase sum from"), max_digits=14, decimal_places=2, initial=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    accrual_percent = percent_field(_("Accrual %"))
    redeem_max_percent = percent_field(_("Redemption cap %"))
    discount_percent = percent_field(_("Discount %"))


LevelFormSet = forms.formset_factory(LevelForm, extra=1, can_delete=True, max_num=50, absolute_max=50)


def level_rows(formset: Any) -> list[dict[str, Any]]:
    """The levels a valid formset asks for (deleted and untouched blank rows left out)."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and not form.cleaned_data.get("id"):
            continue
        if form.cleaned_data.get("DELETE"):
            continue
        data = {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
        if data.get("name") is None:
            continue
        rows.append(data)
    return rows


# --- Лояльность ------------------------------------------------------------------------------------


class CardTemplateForm(forms.ModelForm):
    class Meta:
        model = CardTemplate
        fields = ["name", "type", "mechanic", "is_active", "stamps_required", "stamps_per_purchase", "stamp_sku",
                  "stamp_reward"]  # fmt: skip

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mechanic"].queryset = Mechanic.objects.filter(business=business)  # type: ignore[attr-defined]
        self.fields["stamps_per_purchase"].required = False
        self.fields["stamps_required"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("stamps_required") is None:
            data["stamps_required"] = 0
        if data.get("stamps_per_purchase") is None:
            data["stamps_per_purchase"] = 1
        return data


class ProductImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Columns: sku, name, category, price, barcode (optional)."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 10 MB."))
        return upload


class CouponGroupForm(forms.ModelForm):
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until (inclusive)"), required=False, widget=DateInput())

    class Meta:
        model = CouponGroup
        fields = ["name", "title", "reward", "value", "item_sku", "prefix", "is_active"]

    def clean_prefix(self) -> str:
        prefix = (self.cleaned_data.get("prefix") or "").strip().upper()
        if prefix and not prefix.isalnum():
            raise forms.ValidationError(_("Letters and digits only."))
        return prefix

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        start, end = data.pop("valid_from"), data.pop("valid_until")
        data["valid_from"] = timezone.make_aware(datetime.combine(start, time.min)) if start else None
        data["valid_until"] = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)) if end else None
        return data


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=10_000, initial=100)


class CertificateForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    expires_on = forms.DateField(label=_("Valid until (inclusive)"), required=False, widget=DateInput())

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min)) if day else None


# --- Клиенты ---------------------------------------------------------------------------------------


class CardCreateForm(forms.Form):
    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none())
    phone = forms.CharField(label=_("Phone"), max_length=32)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CardTemplate.objects.filter(business=business, is_active=True)  # type: ignore[attr-defined]


class BalanceForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Points, + or −"), max_digits=14, decimal_places=2, help_text=_("E.g. 100 to add, -50 to take away.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError(_("Enter a change other than zero."))
        return amount


class LevelChangeForm(forms.Form):
    level = forms.ModelChoiceField(
        label=_("Level"), queryset=Level.objects.none(), required=False, empty_label=_("Automatic (by purchase sum)")
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def __init__(self, *args: Any, card: Card, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mechanic_id = card.template.mechanic_id
        levels = Level.objects.filter(mechanic_id=mechanic_id) if mechanic_id else Level.objects.none()
        self.fields["level"].queryset = levels.order_by("threshold")  # type: ignore[attr-defined]


class ClientFilterForm(forms.Form):
    q = forms.CharField(label=_("Card number, phone or name"), required=False, max_length=100)
    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none(), required=False)
    level = forms.ModelChoiceField(label=_("Level"), queryset=Level.objects.none(), required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any but deleted")), *Card.Status.choices], required=False)

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CardTemplate.objects.filter(business=business)  # type: ignore[attr-defined]
        self.fields["level"].queryset = (  # type: ignore[attr-defined]
            Level.objects.filter(mechanic__business=business).select_related("mechanic").order_by("mechanic_id", "threshold")
        )
        self.fields["level"].label_from_instance = lambda lv: f"{lv.mechanic.name}: {lv.name}"  # type: ignore[attr-defined]


class TransactionFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none(), required=False)
    point_of_sale = forms.ModelChoiceField(label=_("Point of sale"), queryset=PointOfSale.objects.none(), required=False)
    kind = forms.ChoiceField(label=_("Action"), choices=[("", _("Any")), *LedgerEntry.Kind.choices], required=False)
    amount_min = forms.DecimalField(label=_("Points from"), max_digits=14, decimal_places=2, required=False)
    amount_max = forms.DecimalField(label=_("Points to"), max_digits=14, decimal_places=2, required=False)

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CardTemplate.objects.filter(business=business)  # type: ignore[attr-defined]
        self.fields["point_of_sale"].queryset = PointOfSale.objects.filter(business=business)  # type: ignore[attr-defined]
