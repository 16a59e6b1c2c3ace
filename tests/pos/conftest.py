from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.cache import cache

from kopilka.accounts.models import Business, PointOfSale
from kopilka.pos import services
from kopilka.pos.services import IssuedKey
from tests.conftest import owner_of


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_key(db) -> Callable[..., IssuedKey]:  # type: ignore[no-untyped-def]
    def make(
        business: Business, *, permissions: list[str] | None = None, point_of_sale: PointOfSale | None = None, name: str = "Till 1"
    ) -> IssuedKey:
        return services.create_api_key(
            business=business, name=name, permissions=permissions, point_of_sale=point_of_sale, actor=owner_of(business)
        )

    return make


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}
