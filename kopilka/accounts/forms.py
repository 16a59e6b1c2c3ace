from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kopilka.accounts.models import Business, PointOfSale, Role
from kopilka.core.permissions import LEVEL_CHOICES, SECTIONS
from kopilka.core.text import normalise_phone


class PhoneField(forms.CharField):
    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return normalise_phone(value) if value else value


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True}))

    error_messages = {
        "invalid_login": _("Wrong e-mail or password."),
        "inactive": _("This account is disabled."),
    }

    def clean_username(self) -> str:
        # Addresses are stored in lower case; people type them as they like.
        return str(self.cleaned_data.get("username") or "").strip().lower()


class SignupForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    phone = PhoneField(label=_("Phone"), max_length=32)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The passwords do not match."))
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the e-mail"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise ValidationError(_("The code is six digits."))
        return code


class CompanyForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    name = forms.CharField(label=_("Business name"), max_length=200, help_text=_("What your guests see, e.g. «Кофейня Зерно»."))
    company_name = forms.CharField(label=_("Company"), max_length=200, required=False)
    legal_entity = forms.CharField(label=_("Legal entity"), max_length=300, required=False, help_text=_("e.g. ООО «Зерно», ИНН 7700000000"))
    accept_terms = forms.BooleanField(
        label=_("I accept the terms of service and the personal data processing agreement"),
        required=True,
        error_messages={"required": _("You must accept the terms of service to continue.")},
    )


class InviteRegisterForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    phone = PhoneField(label=_("Phone"), max_length=32, required=False)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The passwords do not match."))
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Business
        fields = ["name", "company_name", "legal_entity", "phone", "email", "time_zone", "country", "city", "address"]

    def clean_phone(self) -> str:
        value = self.cleaned_data.get("phone", "")
        return normalise_phone(value) if value else ""


class PointOfSaleForm(forms.ModelForm):
    class Meta:
        model = PointOfSale
        fields = ["name", "code", "address", "latitude", "longitude", "time_zone", "is_active"]

    def clean_latitude(self) -> Any:
        value = self.cleaned_data.get("latitude")
        if value is not None and not -90 <= value <= 90:
            raise ValidationError(_("Latitude is between -90 and 90."))
        return value

    def clean_longitude(self) -> Any:
        value = self.cleaned_data.get("longitude")
        if value is not None and not -180 <= value <= 180:
            raise ValidationError(_("Longitude is between -180 and 180."))
        return value


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Role name"), max_length=100)

    def __init__(self, *args: Any, role: Role | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = role.permissions if role else {}
        if role is not None and not self.is_bound:
            self.initial["name"] = role.name
        for code, label in SECTIONS.items():
            self.fields[f"perm_{code}"] = forms.ChoiceField(
                label=str(label), choices=LEVEL_CHOICES, initial=current.get(code, "none"), widget=forms.RadioSelect
            )

    def permissions(self) -> dict[str, str]:
        return {code: self.cleaned_data[f"perm_{code}"] for code in SECTIONS}

    def permission_fields(self) -> list[forms.BoundField]:
        return [self[f"perm_{code}"] for code in SECTIONS]


class _BusinessChoiceForm(forms.Form):
    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "role" in self.fields:
            self.fields["role"].queryset = Role.objects.for_business(business)  # type: ignore[attr-defined]
        if "point_of_sale" in self.fields:
            self.fields["point_of_sale"].queryset = PointOfSale.objects.for_business(business)  # type: ignore[attr-defined]


class InviteForm(_BusinessChoiceForm):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none())
    point_of_sale = forms.ModelChoiceField(
        label=_("Point of sale"), queryset=PointOfSale.objects.none(), required=False,
        help_text=_("Operations of this user will be recorded against the point of sale."),
    )


class MemberForm(_BusinessChoiceForm):
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none())
    point_of_sale = forms.ModelChoiceField(label=_("Point of sale"), queryset=PointOfSale.objects.none(), required=False)
    is_active = forms.BooleanField(label=_("Access enabled"), required=False)
