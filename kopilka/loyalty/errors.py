"""Domain errors of the loyalty engine with stable codes; the POS API maps them 1:1 to problem+json.

Every service validates before it writes, so an error means nothing was written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class LoyaltyError(Exception):
    code = "validation_error"
    status = 422

    def __init__(self, message: str, *, field: str | None = None, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.field = field
        self.errors = errors if errors is not None else ([FieldError(field, self.message)] if field else [])

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(LoyaltyError):
    code = "validation_error"
    status = 422


class CardNotFound(LoyaltyError):
    code = "card_not_found"
    status = 404


class PurchaseNotFound(LoyaltyError):
    code = "purchase_not_found"
    status = 404


class CardBlocked(LoyaltyError):
    code = "card_blocked"
    status = 409


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"
    status = 409


class RefundExceedsPurchase(LoyaltyError):
    code = "refund_exceeds_purchase"
    status = 409


class IdempotencyConflict(LoyaltyError):
    code = "idempotency_conflict"
    status = 409
