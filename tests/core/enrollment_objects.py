"""Enrollment objects of business A for the tenant-isolation walk (made once per victim, before the fingerprint)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kopilka.enrollment import selectors
from kopilka.enrollment.models import BlacklistEntry, PageDesign, RegistrationForm, UtmLink, Variable
from tests.core.loyalty_objects import loyalty_of


def enrollment_of(a: Any) -> SimpleNamespace:
    made = getattr(a, "_enrollment", None)
    if made is not None:
        return made
    business = a.business
    template = loyalty_of(a).template
    variable = Variable.objects.create(business=business, key="alphasecret_var", label="Alphasecret variable")
    form = RegistrationForm.objects.create(
        business=business,
        template=template,
        name="Alphasecret form",
        terms_text="Alphasecret terms",
        fields=[{"key": "first_name", "required": True}],
    )  # a form with terms: a post without "consent_terms" is refused, so the walk's post writes nothing
    design = PageDesign.objects.create(business=business, kind=PageDesign.Kind.VERIFICATION, name="Alphasecret design")
    link = UtmLink.objects.create(business=business, template=template, name="Alphasecret UTM", source="alphasecret")
    entry = BlacklistEntry.objects.create(business=business, phone="+79990009988")
    journey = selectors.journey_of(template)
    card_link = selectors.card_link_of(loyalty_of(a).card)
    made = SimpleNamespace(variable=variable, form=form, design=design, link=link, entry=entry, journey=journey,
                           card_link=card_link)  # fmt: skip
    a._enrollment = made
    return made
