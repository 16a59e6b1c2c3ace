"""Forms of enrollment: cabinet editors and the public registration form built from variables."""

from __future__ import annotations

import base64
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kopilka.accounts.models import Business
from kopilka.cards.models import CardTemplate
from kopilka.customers.models import Customer
from kopilka.enrollment import selectors, services, variables
from kopilka.enrollment.models import PageDesign, RegistrationForm, TemplateJourney, Variable

LOGO_MAX_BYTES = 256 * 1024
LOGO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif", b"RIFF": "image/webp"}
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def logo_data_url(upload: Any) -> str | None:
    """An uploaded PNG/JPEG/GIF/WebP as a ``data:`` URL (kept in the row: no media server needed)."""
    if not upload:
        return None
    if upload.size > LOGO_MAX_BYTES:
        raise ValidationError(_("The logo must be at most 256 KB."))
    content = upload.read()
    mime = next((m for magic, m in LOGO_TYPES.items() if content.startswith(magic)), None)
    if mime is None:
        raise ValidationError(_("Upload a PNG, JPEG, GIF or WebP image."))
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


class TemplateTextField(forms.CharField):
    """A text with ``{{variables}}``; the form validates them against the business's variables."""


class VariableForm(forms.Form):
    key = forms.CharField(label=_("Key"), max_length=40, help_text=_("Used in texts as {{key}}."))
    label = forms.CharField(label=_("Label"), max_length=100)
    type = forms.ChoiceField(label=_("Type"), choices=Variable.Type.choices)
    choices = forms.CharField(
        label=_("Choices (one per line)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("choices") or "").splitlines() if line.strip()]


class RegistrationFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none(), required=False)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    logo_file = forms.FileField(label=_("Logo"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    terms_text = forms.CharField(label=_("Terms of use (consent text)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    marketing_text = forms.CharField(label=_("Consent to messages (text)"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args: Any, business: Business, instance: RegistrationForm | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name, "template": instance.template_id, "title": instance.title,
                "description": instance.description, "terms_text": instance.terms_text,
                "marketing_text": instance.marketing_text,
            }  # fmt: skip
        super().__init__(*args, **kwargs)
        self.business = business
        self.instance = instance
        self.fields["template"].queryset = selectors.templates(business)  # type: ignore[attr-defined]
        self.field_choices = services.form_field_choices(business)
        self.known = variables.known_keys(business)
        if self.is_bound:
            self.chosen = self._chosen_from(self.data)
        elif instance is not None:
            self.chosen = list(instance.fields)
        else:
            self.chosen = [{"key": "first_name", "required": True}, {"key": "last_name", "required": False}]

    @staticmethod
    def _chosen_from(data: Any) -> list[dict[str, Any]]:
        keys = data.getlist("field_key") if hasattr(data, "getlist") else []
        required = set(data.getlist("field_required")) if hasattr(data, "getlist") else set()
        return [{"key": k, "required": k in required} for k in keys]

    def _text(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        variables.validate_text(value, known=self.known)
        return value

    def clean_title(self) -> str:
        return self._text("title")

    def clean_description(self) -> str:
        return self._text("description")

    def clean_terms_text(self) -> str:
        return self._text("terms_text")

    def clean_marketing_text(self) -> str:
        return self._text("marketing_text")

    def clean_logo_file(self) -> str | None:
        return logo_data_url(self.cleaned_data.get("logo_file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.chosen = services.clean_form_fields(self.business, self.chosen)
        except ValidationError as exc:
            self.add_error(None, exc.message_dict["fields"])
        data["fields"] = self.chosen
        data["logo"] = data.pop("logo_file", None)
        return data

    def field_rows(self) -> list[dict[str, Any]]:
        labels = dict(self.field_choices)
        chosen = {f["key"]: f for f in self.chosen}
        rows = [{"key": f["key"], "label": labels.get(f["key"], f["key"]), "on": True, "required": f["required"]}
                for f in self.chosen]  # fmt: skip
        rows += [{"key": k, "label": label, "on": False, "required": False}
                 for k, label in self.field_choices if k not in chosen]  # fmt: skip
        return rows


class DesignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    background_color = forms.CharField(label=_("Background colour"), max_length=7, initial="#f6f8fb",
                                       widget=forms.TextInput(attrs={"type": "color"}))  # fmt: skip
    accent_color = forms.CharField(label=_("Button colour"), max_length=7, initial="#206bc4",
                                   widget=forms.TextInput(attrs={"type": "color"}))  # fmt: skip
    text_color = forms.CharField(label=_("Text colour"), max_length=7, initial="#1d273b",
                                 widget=forms.TextInput(attrs={"type": "color"}))  # fmt: skip
    logo_file = forms.FileField(label=_("Logo"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    text = forms.CharField(label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    thanks_text = forms.CharField(label=_("Thank-you text"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.known = variables.known_keys(business)

    def _color(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        if not COLOR_RE.match(value):
            raise ValidationError(_("Enter a colour like #1a2b3c."))
        return value.lower()

    def clean_background_color(self) -> str:
        return self._color("background_color")

    def clean_accent_color(self) -> str:
        return self._color("accent_color")

    def clean_text_color(self) -> str:
        return self._color("text_color")

    def _text(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        variables.validate_text(value, known=self.known)
        return value

    def clean_title(self) -> str:
        return self._text("title")

    def clean_text(self) -> str:
        return self._text("text")

    def clean_thanks_text(self) -> str:
        return self._text("thanks_text")

    def clean_logo_file(self) -> str | None:
        return logo_data_url(self.cleaned_data.get("logo_file"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["logo"] = data.pop("logo_file", None)
        return data


class JourneyForm(forms.ModelForm):
    class Meta:
        model = TemplateJourney
        fields = ["show_apple", "show_google", "verification_design", "review_design"]

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verification_design"].queryset = selectors.designs(business, PageDesign.Kind.VERIFICATION)  # type: ignore[attr-defined]
        self.fields["review_design"].queryset = selectors.designs(business, PageDesign.Kind.REVIEW)  # type: ignore[attr-defined]


class UtmLinkForm(forms.Form):
    SOURCES = ["instagram", "vk", "telegram", "google", "yandex", "email", "sms", "offline"]

    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none())
    name = forms.CharField(label=_("Name"), max_length=200)
    source = forms.CharField(label=_("Traffic source"), max_length=100, widget=forms.TextInput(attrs={"list": "utm-sources"}),
                             help_text=_("For example: instagram, vk, telegram, offline."))  # fmt: skip
    medium = forms.CharField(label=_("Medium"), max_length=100, required=False)
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False,
                               help_text=_("Latin letters without spaces."))  # fmt: skip

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.templates(business)  # type: ignore[attr-defined]


class BlacklistForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=30)
    template = forms.ModelChoiceField(label=_("Card template"), queryset=CardTemplate.objects.none(), required=False,
                                      empty_label=_("All templates"))  # fmt: skip
    comment = forms.CharField(label=_("Comment"), max_length=300, required=False)

    def __init__(self, *args: Any, business: Business, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = selectors.templates(business)  # type: ignore[attr-defined]


# --- public ------------------------------------------------------------------------------------------


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Phone"), max_length=30,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel",
                                                          "placeholder": "+7 999 123-45-67"}))  # fmt: skip

    def clean_phone(self) -> str:
        from kopilka.loyalty.errors import LoyaltyError
        from kopilka.loyalty.services import normalise_phone

        try:
            return normalise_phone(self.cleaned_data["phone"])
        except LoyaltyError as exc:
            raise ValidationError(exc.message) from None


class CodeForm(forms.Form):
    code = forms.RegexField(label=_("Code from SMS"), regex=r"^\s*\d{4}\s*$", max_length=8,
                            error_messages={"invalid": _("Enter the 4 digits from the SMS.")},
                            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                          "maxlength": "4", "pattern": "[0-9]{4}"}))  # fmt: skip


def public_form_class(business: Business, reg_form: RegistrationForm | None) -> type[forms.Form]:
    """The public registration form: phone, then the form's fields from variables, then the consents."""
    labels = {v.key: str(v.label) for v in variables.SYSTEM}
    custom = {v.key: v for v in selectors.variables(business)}
    fields: dict[str, forms.Field] = {}
    chosen = reg_form.fields if reg_form is not None else [{"key": "first_name", "required": True}]
    for item in chosen:
        key, required = item["key"], bool(item.get("required"))
        if key in custom:
            variable = custom[key]
            if variable.type == Variable.Type.NUMBER:
                fields[key] = forms.DecimalField(
                    label=variable.label, required=required, max_digits=14, decimal_places=4
                )
            elif variable.type == Variable.Type.DATE:
                fields[key] = forms.DateField(
                    label=variable.label, required=required, widget=forms.DateInput(attrs={"type": "date"})
                )
            elif variable.type == Variable.Type.CHOICE:
                options = [("", "—"), *((c, c) for c in variable.choices)]
                fields[key] = forms.ChoiceField(label=variable.label, required=required, choices=options)
            else:
                fields[key] = forms.CharField(label=variable.label, required=required, max_length=200)
        elif key == "birth_date":
            fields[key] = forms.DateField(
                label=labels[key], required=required, widget=forms.DateInput(attrs={"type": "date"})
            )
        elif key == "gender":
            fields[key] = forms.ChoiceField(label=labels[key], required=required, choices=Customer.Gender.choices)
        elif key == "email":
            fields[key] = forms.EmailField(label=labels[key], required=required)
        elif key in labels:
            fields[key] = forms.CharField(label=labels[key], required=required, max_length=150)
    terms = reg_form.terms_text if reg_form is not None else ""
    marketing = reg_form.marketing_text if reg_form is not None else ""
    if terms:
        fields["consent_terms"] = forms.BooleanField(label=terms, required=True,
                                                     error_messages={"required": _("Accept the terms to get a card.")})  # fmt: skip
    if marketing:
        fields["consent_marketing"] = forms.BooleanField(label=marketing, required=False)
    attrs: dict[str, Any] = {**fields, "field_keys": [k for k in fields if not k.startswith("consent_")]}
    return type("PublicRegistrationForm", (PhoneForm,), attrs)
