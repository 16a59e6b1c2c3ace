"""Shared pieces of the API's schemas: strict input, decimal strings, the problem responses."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict

from kopilka.pos.problems import Problem


class InputSchema(Schema):
    """Every input schema refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


def problems(*statuses: int) -> dict[int, Any]:
    """The documented error responses of a route: always 401, 413, 429, plus the listed ones."""
    return dict.fromkeys(sorted({401, 413, 429, *statuses}), Problem)
