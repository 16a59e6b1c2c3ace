"""Every error of the POS API as ``application/problem+json`` (RFC 9457) with a stable ``code``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from kopilka.loyalty.errors import LoyaltyError

logger = logging.getLogger("kopilka.pos.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemField(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[ProblemField] = []


def _titles() -> dict[str, str]:
    return {
        "unauthorized": _("Unauthorized"),
        "forbidden": _("Forbidden"),
        "not_found": _("Not found"),
        "card_not_found": _("Card not found"),
        "purchase_not_found": _("Purchase not found"),
        "card_blocked": _("Card blocked"),
        "insufficient_points": _("Insufficient points"),
        "refund_exceeds_purchase": _("Refund exceeds purchase"),
        "idempotency_conflict": _("Idempotency conflict"),
        "validation_error": _("Validation error"),
        "payload_too_large": _("Payload too large"),
        "rate_limited": _("Too many requests"),
        "method_not_allowed": _("Method not allowed"),
        "server_error": _("Server error"),
    }


class ApiError(Exception):
    """Raise anywhere under the API to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str = "",
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        super().__init__(status, code, detail)


def problem_response(
    status: int,
    code: str,
    detail: str = "",
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    title = _titles().get(code, code.replace("_", " ").capitalize())
    body = {
        "type": f"urn:kopilka:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail or title,
        "errors": errors or [],
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8"
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _is_type_tag(part: Any) -> bool:
    """Pydantic names the member of a union it tried (``str``, ``PhoneRef``, ``function-before[…]``)."""
    text = str(part)
    return text in {"str", "int", "float", "bool", "dict", "list", "none"} or text[:1].isupper() or "[" in text


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str:
    """``("body", "payload", "items", 0, "price")`` → ``"items.0.price"``; query/header/path keep their name."""
    parts = [str(p) for p in loc if not _is_type_tag(p)]
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else parts[1:]
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
    return ".".join(parts)


def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field_of(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors]
    return problem_response(422, "validation_error", _("The request has invalid fields."), errors=errors)


def _loyalty_error(request: HttpRequest, exc: LoyaltyError) -> HttpResponse:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem_response(exc.status, exc.code, exc.message, errors=errors)


def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return problem_response(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


def _authentication(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(
        401, "unauthorized", _("Send a valid API key as 'Authorization: Bearer <key>'."),
        headers={"WWW-Authenticate": "Bearer"},
    )  # fmt: skip


def _authorization(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(403, "forbidden", _("This API key may not do that."))


def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # Ninja could not parse the body
        return problem_response(
            422, "validation_error", _("The request body is not valid JSON."),
            errors=[{"field": "body", "message": _("Not valid JSON.")}],
        )  # fmt: skip
    if exc.status_code == 429:
        return problem_response(429, "rate_limited", str(exc))
    return problem_response(exc.status_code, "error", str(exc))


def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(404, "not_found", _("Nothing here."))


def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return problem_response(500, "server_error", _("Something went wrong on our side."))


def install_handlers(api: NinjaAPI) -> None:
    add: Any = api.add_exception_handler  # Ninja's handler type is narrower than these handlers
    add(Exception, _unexpected)
    add(Http404, _not_found)
    add(HttpError, _http_error)
    add(AuthenticationError, _authentication)
    add(AuthorizationError, _authorization)
    add(ValidationError, _validation)
    add(ApiError, _api_error)
    add(LoyaltyError, _loyalty_error)
