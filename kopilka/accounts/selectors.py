"""Reads of accounts data, always scoped by business; ``access_*`` fetch one object or 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kopilka.accounts.models import Business, Invitation, Membership, PointOfSale, Role


def points_of_sale(business: Business) -> QuerySet[PointOfSale]:
    return PointOfSale.objects.for_business(business).order_by("name", "id")  # type: ignore[attr-defined,no-any-return]


def roles(business: Business) -> QuerySet[Role]:
    return Role.objects.for_business(business).order_by("id")  # type: ignore[attr-defined,no-any-return]


def members(business: Business) -> QuerySet[Membership]:
    return (
        Membership.objects.for_business(business)  # type: ignore[attr-defined]
        .select_related("user", "role", "point_of_sale")
        .order_by("-is_owner", "user__email")
    )


def pending_invitations(business: Business) -> QuerySet[Invitation]:
    return (
        Invitation.objects.for_business(business)  # type: ignore[attr-defined]
        .filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("role", "point_of_sale")
    )


def access_point_of_sale(*, business: Business, pos_id: int) -> PointOfSale:
    return get_object_or_404(PointOfSale, business=business, pk=pos_id)


def access_role(*, business: Business, role_id: int) -> Role:
    return get_object_or_404(Role, business=business, pk=role_id)


def access_membership(*, business: Business, member_id: int) -> Membership:
    return get_object_or_404(Membership.objects.select_related("user", "role"), business=business, pk=member_id)


def access_invitation(*, business: Business, invitation_id: int) -> Invitation:
    return get_object_or_404(Invitation, business=business, pk=invitation_id)
