"""Personal data (A5): only the Office Owner sees it in full; everyone else sees it masked."""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template

from kopilka.accounts.models import Membership
from kopilka.core import pii


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+79991234567", "+7999***4567"), ("+4412345", "+4******"), ("", ""), (None, ""), ("12", "12")],
)
def test_mask_phone(phone, masked) -> None:  # type: ignore[no-untyped-def]
    assert pii.mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [("anna.petrova@mail.ru", "a***@mail.ru"), ("x@y.z", "x***@y.z"), ("no-at-sign", "n***"), ("", ""), (None, "")],
)
def test_mask_email(email, masked) -> None:  # type: ignore[no-untyped-def]
    assert pii.mask_email(email) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [("Анна Петрова", "А*** П***"), ("Анна", "А***"), ("  Анна   Мария  ", "А*** М***"), ("", ""), (None, "")],
)
def test_mask_name(name, masked) -> None:  # type: ignore[no-untyped-def]
    assert pii.mask_name(name) == masked


def test_mask_date() -> None:
    assert pii.mask_date(datetime.date(1990, 5, 17)) == "**.**.****"
    assert pii.mask_date(None) == ""


def _render(membership, value, kind):  # type: ignore[no-untyped-def]
    template = Template("{% load kopilka %}[{% personal value kind %}]")
    return template.render(Context({"membership": membership, "value": value, "kind": kind}))


@pytest.mark.django_db
def test_personal_tag_shows_everything_to_the_owner_only(business, make_member) -> None:  # type: ignore[no-untyped-def]
    owner = Membership.objects.get(business=business, is_owner=True)
    administrator = make_member(business, "administrator")

    assert _render(owner, "+79991234567", "phone") == "[+79991234567]"
    assert _render(owner, "anna@mail.ru", "email") == "[anna@mail.ru]"
    assert _render(owner, None, "name") == "[]"
    assert _render(administrator, "+79991234567", "phone") == "[+7999***4567]"
    assert _render(administrator, "anna@mail.ru", "email") == "[a***@mail.ru]"
    assert _render(administrator, "Анна Петрова", "name") == "[А*** П***]"
    assert _render(administrator, datetime.date(1990, 5, 17), "date") == "[**.**.****]"
    assert _render(None, "+79991234567", "phone") == "[+7999***4567]"


def test_personal_tag_escapes_html() -> None:
    class Owner:
        sees_personal_data = True

    assert _render(Owner(), "<b>Анна</b>", "name") == "[&lt;b&gt;Анна&lt;/b&gt;]"
