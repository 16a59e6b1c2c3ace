"""POS API v1 (shared/spec/pos-api.md): one NinjaAPI, mounted at ``/api/v1/``.

Routes declare ``auth=api_key("<permission>")`` (kopilka.pos.auth) and their problem responses
(kopilka.pos.schemas.problems); writes are wrapped in ``idempotent``. Errors of any kind leave as
``application/problem+json`` (kopilka.pos.problems).
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Router, Schema
from ninja.openapi.schema import OpenAPISchema

from kopilka.core.access import public
from kopilka.pos.auth import api_key
from kopilka.pos.models import ApiKey
from kopilka.pos.problems import PROBLEM_CONTENT_TYPE, install_handlers, problem_response
from kopilka.pos.schemas import problems

DESCRIPTION = """The POS API of Kopilka: identify customers, price a check, confirm and refund purchases.

Authenticate with `Authorization: Bearer <api key>`; keys are created in the cabinet (Integrations → API keys).
Every `POST` accepts `Idempotency-Key`. Errors are `application/problem+json` with a stable `code`."""


class KopilkaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
        return schema


class PointOfSaleOut(Schema):
    id: int
    code: str
    name: str


class BusinessOut(Schema):
    slug: str
    name: str
    currency: str


class MeOut(Schema):
    name: str
    prefix: str
    business: BusinessOut
    point_of_sale: PointOfSaleOut | None
    permissions: list[str]


core = Router(tags=["keys"])


@core.get("/me", response={200: MeOut, **problems()}, auth=api_key(), url_name="me", summary="The key in use")
def me(request: HttpRequest) -> dict[str, Any]:
    """The API key making the request: its business, the point of sale it is bound to, its permissions."""
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    pos = key.point_of_sale
    return {
        "name": key.name,
        "prefix": key.prefix,
        "business": {"slug": key.business.slug, "name": key.business.name, "currency": key.business.currency},
        "point_of_sale": {"id": pos.pk, "code": pos.code, "name": pos.name} if pos else None,
        "permissions": list(key.permissions),
    }


def build_api(*routers: tuple[str, Router], namespace: str = "api") -> KopilkaAPI:
    built = KopilkaAPI(
        title="Kopilka POS API",
        version="1",
        description=DESCRIPTION,
        urls_namespace=namespace,
    )
    install_handlers(built)
    built.add_router("", core)
    for prefix, router in routers:
        built.add_router(prefix, router)
    return built


# Public paths of the API: its documents. Every other route needs a key.
PUBLIC_URL_NAMES = {"openapi-json", "openapi-view", "api-root"}


def _problem_for_405(view: Any) -> Any:
    """Ninja answers a method a path does not take with a bare 405; make it a problem document too."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/"):
            return problem_response(
                405, "method_not_allowed", _("This path does not take %(method)s.") % {"method": request.method},
                headers={"Allow": response.get("Allow", "")},
            )  # fmt: skip
        return response  # type: ignore[no-any-return]

    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under /api/v1/."""
    return problem_response(404, "not_found", _("No such API path."))


def marked_urls(built: NinjaAPI) -> list[Any]:
    """The API's URL patterns, each marked for the access test (kopilka.core.access), then a 404 for the rest."""
    patterns = built.urls[0]
    for pattern in patterns:
        if getattr(pattern, "name", None) in PUBLIC_URL_NAMES:
            pattern.callback.kopilka_access = "public"  # type: ignore[union-attr]
            continue
        pattern.callback = _problem_for_405(pattern.callback)  # type: ignore[union-attr]
        pattern.callback.kopilka_access = "api_key"  # type: ignore[union-attr]
    return [*patterns, re_path(r"^.*$", public(not_found), name="not_found")]


def _production_api() -> KopilkaAPI:
    from kopilka.pos import endpoints

    return build_api(("", endpoints.router))


api = _production_api()
