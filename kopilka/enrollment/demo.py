"""The demo's registration forms and a UTM link, so the customer journey works out of the box."""

from __future__ import annotations

from typing import Any

from kopilka.cards.models import CardTemplate
from kopilka.enrollment import selectors, services
from kopilka.enrollment.models import RegistrationForm, UtmLink

FIELDS = [
    {"key": "first_name", "required": True},
    {"key": "last_name", "required": False},
    {"key": "birth_date", "required": False},
]
TERMS = (
    "Я соглашаюсь с правилами программы лояльности {{business_name}} и на обработку моих персональных данных."
)
MARKETING = "Я хочу получать новости и подарки от {{business_name}}."


def seed_enrollment(demo: Any) -> str:
    """A registration form per card template and an Instagram UTM link; returns the bonus card's link."""
    business = demo.business
    templates = list(CardTemplate.objects.filter(business=business).exclude(type=CardTemplate.Type.API).order_by("id"))
    for template in templates:
        if not RegistrationForm.objects.filter(business=business, template=template).exists():
            services.save_registration_form(
                business=business,
                data={
                    "name": f"Регистрация: {template.name}", "template": template, "title": template.name,
                    "description": "Заполните анкету — карта появится в вашем телефоне.",
                    "fields": FIELDS, "terms_text": TERMS, "marketing_text": MARKETING,
                },
                actor=demo.owner,
            )  # fmt: skip
        selectors.journey_of(template)
    bonus = next((t for t in templates if t.type == CardTemplate.Type.BONUS), None)
    if bonus is None:
        return ""
    if not UtmLink.objects.filter(business=business, template=bonus, source="instagram").exists():
        services.create_utm_link(
            business=business, template=bonus, name="Instagram, шапка профиля", source="instagram",
            medium="social", campaign="bio", actor=demo.owner,
        )  # fmt: skip
    return selectors.journey_url(bonus)
