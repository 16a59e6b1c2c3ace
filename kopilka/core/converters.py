"""URL converters. ``<id:name>`` takes a database id: digits that fit a 64-bit integer.

Django's ``<int:…>`` accepts any number of digits; an id beyond the database's integer range then
fails inside the database driver (a 500 on SQLite). With ``<id:…>`` such a URL simply does not
match, and the visitor gets a 404.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id out of range")
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


def parse_id(value: object) -> int | None:
    """A database id from form or query data, or None when it is not one."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
