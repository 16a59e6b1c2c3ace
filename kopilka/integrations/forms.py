from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.integrations.models import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https", help_text=_("We POST JSON events here."))
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[("*", _("All events"))] + [(e, e) for e in EVENT_TYPES],
        initial=["*"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Nothing chosen means all events."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
