from __future__ import annotations

from typing import Any

from django import template

from kopilka.core import pii

register = template.Library()

_MASKS = {
    "phone": pii.mask_phone,
    "email": pii.mask_email,
    "name": pii.mask_name,
    "date": pii.mask_date,
}


@register.simple_tag(takes_context=True)
def personal(context: dict[str, Any], value: Any, kind: str) -> str:
    """Personal data in full for the Office Owner, masked for everyone else (A5)."""
    membership = context.get("membership")
    if membership is not None and membership.sees_personal_data:
        return "" if value is None else str(value)
    return _MASKS[kind](value)


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
