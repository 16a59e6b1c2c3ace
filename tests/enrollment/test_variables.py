"""Variables (D8): one syntax, validated when saved — an unknown variable is an error, not an empty string."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from kopilka.enrollment import services, variables
from kopilka.enrollment.models import RegistrationForm, Variable
from tests.conftest import owner_of

pytestmark = pytest.mark.django_db


def test_render_substitutes_known_keys_with_optional_spaces() -> None:
    assert variables.render(
        "Привет, {{first_name}}! Баланс: {{ balance }}", {"first_name": "Анна", "balance": 350}
    ) == ("Привет, Анна! Баланс: 350")


def test_used_keys_in_order_each_once() -> None:
    assert variables.used_keys("{{a}} {{ b }} {{a}}") == ["a", "b"]


def test_unknown_variable_is_a_validation_error(business) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        variables.validate_text("Здравствуйте, {{frist_name}}", business=business)

    assert "{{frist_name}}" in caught.value.messages[0]


def test_custom_variable_becomes_known(business) -> None:  # type: ignore[no-untyped-def]
    services.save_variable(business=business, data={"key": "fav_drink", "label": "Любимый напиток", "type": "text"},
                           actor=owner_of(business))  # fmt: skip

    variables.validate_text("Ваш {{fav_drink}}", business=business)  # no error


def test_custom_variable_of_another_business_is_unknown(business, other_business) -> None:  # type: ignore[no-untyped-def]
    Variable.objects.create(business=other_business, key="fav_drink", label="x")

    with pytest.raises(ValidationError):
        variables.validate_text("{{fav_drink}}", business=business)


def test_broken_braces_are_an_error(business) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        variables.validate_text("Привет, {{first_name}", business=business)


@pytest.mark.parametrize("key", ["first_name", "Bad Key", "1abc", ""])
def test_variable_key_rules(business, key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        services.save_variable(business=business, data={"key": key, "label": "x", "type": "text"}, actor=None)


def test_choice_variable_needs_choices(business) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        services.save_variable(business=business, data={"key": "size", "label": "Размер", "type": "choice", "choices": []},
                               actor=None)  # fmt: skip


def test_variables_page_adds_a_variable(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post(
        "/variables/", {"key": "size", "label": "Размер", "type": "choice", "choices": "S\nM\nL"}
    )

    assert response.status_code == 302
    variable = Variable.objects.get(business=business)
    assert (variable.key, variable.choices) == ("size", ["S", "M", "L"])
    page = owner_client.get("/variables/").content.decode()
    assert "{{size}}" in page
    assert "{{first_name}}" in page


def test_form_builder_refuses_an_unknown_variable_in_texts(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post("/forms/new/", {
        "name": "Основная", "title": "Карта для {{frist_name}}", "field_key": ["first_name"],
        "terms_text": "Согласен",
    })  # fmt: skip

    assert response.status_code == 422
    assert "{{frist_name}}" in response.content.decode()
    assert RegistrationForm.objects.count() == 0


def test_form_builder_refuses_an_unknown_field(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post("/forms/new/", {"name": "Основная", "field_key": ["first_name", "no_such_var"]})

    assert response.status_code == 422
    assert RegistrationForm.objects.count() == 0


def test_form_builder_saves_fields_in_order_with_required_flags(owner_client, business, template) -> None:  # type: ignore[no-untyped-def]
    Variable.objects.create(business=business, key="fav_drink", label="Любимый напиток")
    response = owner_client.post("/forms/new/", {
        "name": "Основная", "template": template.pk, "title": "Карта {{business_name}}",
        "field_key": ["fav_drink", "first_name", "birth_date"], "field_required": ["first_name"],
        "terms_text": "Согласен с правилами", "marketing_text": "",
    })  # fmt: skip

    assert response.status_code == 302
    form = RegistrationForm.objects.get()
    assert form.template == template
    assert form.fields == [
        {"key": "fav_drink", "required": False}, {"key": "first_name", "required": True},
        {"key": "birth_date", "required": False},
    ]  # fmt: skip


def test_live_preview_renders_the_public_form(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    response = owner_client.post("/forms/preview/", {
        "name": "x", "title": "Карта {{business_name}}", "field_key": ["last_name"], "field_required": ["last_name"],
        "terms_text": "Правила программы",
    })  # fmt: skip

    body = response.content.decode()
    assert response.status_code == 200
    assert f"Карта {business.name}" in body
    assert 'name="last_name"' in body
    assert "Правила программы" in body


def test_variable_in_use_cannot_be_deleted(owner_client, business) -> None:  # type: ignore[no-untyped-def]
    variable = Variable.objects.create(business=business, key="fav_drink", label="x")
    RegistrationForm.objects.create(business=business, name="f", fields=[{"key": "fav_drink", "required": False}])

    owner_client.post(f"/variables/{variable.pk}/delete/")

    assert Variable.objects.filter(pk=variable.pk).exists()


def test_card_values_fill_every_system_variable(business, template) -> None:  # type: ignore[no-untyped-def]
    from kopilka.loyalty.services import issue_card

    card = issue_card(business=business, template=template, phone="+79991112233", first_name="Анна")

    values = variables.card_values(card)

    assert set(variables.SYSTEM_KEYS) <= set(values)
    assert variables.render("{{first_name}}: {{balance}} ({{card_number}})", values) == f"Анна: 100 ({card.number})"
