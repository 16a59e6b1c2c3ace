"""Verbs that change accounts: sign-up, businesses, roles, members, invitations, points of sale.

Views, commands and tests call these; every manual change is written to the audit log here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kopilka.accounts.models import (
    Business,
    EmailCode,
    Invitation,
    Membership,
    PointOfSale,
    Role,
    User,
)
from kopilka.core import audit, links
from kopilka.core.permissions import STANDARD_ROLES, normalise_permissions
from kopilka.core.text import latin_slug


def _digest(secret: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


# --- Sign-up (A1) ---------------------------------------------------------------------------


def email_taken(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def _send_signup_code(email: str, code: str) -> None:
    context = {"code": code, "minutes": int(settings.KOPILKA_EMAIL_CODE_TTL.total_seconds() // 60)}
    send_mail(
        subject=_("Your Kopilka confirmation code: %(code)s") % {"code": code},
        message=render_to_string("accounts/email/signup_code.txt", context),
        from_email=None,
        recipient_list=[email],
    )


def start_signup(*, email: str, phone: str, password: str) -> EmailCode:
    """Step 1: remember the details and e-mail a 6-digit code. No account exists until it is entered."""
    email = email.strip().lower()
    if email_taken(email):
        raise ValidationError({"email": _("An account with this e-mail already exists. Log in instead.")})
    password_validation.validate_password(password, User(email=email, phone=phone))
    code = _new_code()
    now = timezone.now()
    record = EmailCode.objects.create(
        email=email,
        purpose=EmailCode.Purpose.SIGNUP,
        code_hash=_digest(code),
        payload={"phone": phone, "password": make_password(password)},
        sent_at=now,
        expires_at=now + settings.KOPILKA_EMAIL_CODE_TTL,
    )
    _send_signup_code(email, code)
    return record


def resend_signup_code(*, email_code: EmailCode) -> EmailCode:
    now = timezone.now()
    if email_code.used_at:
        raise ValidationError(_("This code has already been used."))
    wait = email_code.sent_at + settings.KOPILKA_EMAIL_CODE_RESEND_AFTER - now
    if wait.total_seconds() > 0:
        raise ValidationError(
            _("You can ask for a new code in %(seconds)d s.") % {"seconds": int(wait.total_seconds()) + 1}
        )
    code = _new_code()
    email_code.code_hash = _digest(code)
    email_code.attempts = 0
    email_code.sent_at = now
    email_code.expires_at = now + settings.KOPILKA_EMAIL_CODE_TTL
    email_code.save(update_fields=["code_hash", "attempts", "sent_at", "expires_at"])
    _send_signup_code(email_code.email, code)
    return email_code


def check_email_code(*, email_code_id: int, code: str) -> EmailCode:
    """Count the attempt, then accept or refuse. The count is kept even when the code is wrong."""
    error: str | None = None
    with transaction.atomic():
        record = EmailCode.objects.select_for_update().get(pk=email_code_id)
        now = timezone.now()
        if record.used_at:
            error = _("This code has already been used.")
        elif record.expires_at <= now:
            error = _("The code has expired. Ask for a new one.")
        elif record.attempts >= settings.KOPILKA_EMAIL_CODE_MAX_ATTEMPTS:
            error = _("Too many wrong codes. Ask for a new one.")
        elif not hmac.compare_digest(record.code_hash, _digest((code or "").strip())):
            record.attempts += 1
            record.save(update_fields=["attempts"])
            left = settings.KOPILKA_EMAIL_CODE_MAX_ATTEMPTS - record.attempts
            error = (
                _("Wrong code. Attempts left: %(left)d.") % {"left": left}
                if left
                else _("Too many wrong codes. Ask for a new one.")
            )
        else:
            record.used_at = now
            record.save(update_fields=["used_at"])
    if error:
        raise ValidationError({"code": error})
    return record


def confirm_signup(*, email_code_id: int, code: str) -> User:
    """Step 2: the right code creates the account (e-mail confirmed).

    The attempt is counted in its own transaction first, so a wrong code is never rolled back.
    """
    record = check_email_code(email_code_id=email_code_id, code=code)
    with transaction.atomic():
        if email_taken(record.email):
            raise ValidationError({"code": _("An account with this e-mail already exists. Log in instead.")})
        user = User(email=record.email, phone=record.payload.get("phone", ""))
        user.password = record.payload["password"]
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"code": _("An account with this e-mail already exists. Log in instead.")}
            ) from exc
        return user


def _unique_slug(name: str) -> str:
    base = latin_slug(name) or "business"
    slug, n = base, 1
    while Business.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_standard_roles(*, business: Business) -> dict[str, Role]:
    roles = {}
    for code, spec in STANDARD_ROLES.items():
        role, _created = Role.objects.get_or_create(
            business=business,
            code=code,
            defaults={
                "name": str(spec["name"]),
                "permissions": normalise_permissions(spec["permissions"]),  # type: ignore[arg-type]
            },
        )
        roles[code] = role
    return roles


@transaction.atomic
def create_business(
    *,
    owner: User,
    name: str,
    company_name: str = "",
    legal_entity: str = "",
    accept_terms: bool,
    slug: str | None = None,
    phone: str = "",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> Business:
    """Step 3: the company details and the terms; the person becomes its Office Owner."""
    if not accept_terms:
        raise ValidationError({"accept_terms": _("You must accept the terms of service to continue.")})
    if not name.strip():
        raise ValidationError({"name": _("This field is required.")})
    if first_name or last_name:
        owner.first_name = first_name or owner.first_name
        owner.last_name = last_name or owner.last_name
        owner.save(update_fields=["first_name", "last_name"])
    business = Business.objects.create(
        slug=slug or _unique_slug(name),
        name=name.strip(),
        company_name=company_name.strip(),
        legal_entity=legal_entity.strip(),
        phone=phone or owner.phone,
        email=email or owner.email,
        terms_accepted_at=timezone.now(),
    )
    create_standard_roles(business=business)
    Membership.objects.create(business=business, user=owner, is_owner=True)
    owner.last_business = business
    owner.save(update_fields=["last_business"])
    audit.record(
        business=business,
        actor=owner,
        action="business.created",
        obj=business,
        after={"name": business.name, "company_name": business.company_name},
    )
    return business


# --- Audited edits of plain objects ----------------------------------------------------------


def _apply(obj: Any, data: dict[str, Any], fields: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    before = audit.snapshot(obj, fields)
    for name in fields:
        if name in data:
            setattr(obj, name, data[name])
    obj.full_clean()
    obj.save()
    return before, audit.snapshot(obj, fields)


PROFILE_FIELDS = ["name", "company_name", "legal_entity", "phone", "email", "time_zone", "country", "city", "address"]


@transaction.atomic
def update_business_profile(*, business: Business, data: dict[str, Any], actor: User) -> Business:
    before, after = _apply(business, data, PROFILE_FIELDS)
    if before != after:
        audit.record(business=business, actor=actor, action="business.updated", obj=business, before=before, after=after)
    return business


POS_FIELDS = ["code", "name", "address", "latitude", "longitude", "time_zone", "is_active"]


@transaction.atomic
def save_point_of_sale(
    *, business: Business, data: dict[str, Any], actor: User, point_of_sale: PointOfSale | None = None
) -> PointOfSale:
    creating = point_of_sale is None
    pos = point_of_sale or PointOfSale(business=business)
    if pos.business_id != business.pk:
        raise ValidationError(_("This point of sale belongs to another business."))
    code = data.get("code", pos.code)
    if PointOfSale.objects.filter(business=business, code=code).exclude(pk=pos.pk).exists():
        raise ValidationError({"code": _("A point of sale with this code already exists.")})
    before, after = _apply(pos, data, POS_FIELDS)
    if creating or before != after:
        audit.record(
            business=business,
            actor=actor,
            action="point_of_sale.created" if creating else "point_of_sale.updated",
            obj=pos,
            before=None if creating else before,
            after=after,
        )
    return pos


# --- Roles (A4) -----------------------------------------------------------------------------


@transaction.atomic
def save_role(
    *, business: Business, name: str, permissions: dict[str, str], actor: User, role: Role | None = None
) -> Role:
    creating = role is None
    role = role or Role(business=business)
    if role.business_id != business.pk:
        raise ValidationError(_("This role belongs to another business."))
    if role.is_standard:
        raise ValidationError(_("Standard roles cannot be changed; create your own role instead."))
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("This field is required.")})
    # Compared in Python: SQLite's case-insensitive match folds ASCII letters only («Бариста» ≠ «БАРИСТА»).
    others = Role.objects.filter(business=business).exclude(pk=role.pk).values_list("name", flat=True)
    if any(other.casefold() == name.casefold() for other in others):
        raise ValidationError({"name": _("A role with this name already exists.")})
    before = None if creating else {"name": role.name, "permissions": role.permissions}
    role.name = name
    role.permissions = normalise_permissions(permissions)
    role.save()
    audit.record(
        business=business,
        actor=actor,
        action="role.created" if creating else "role.updated",
        obj=role,
        before=before,
        after={"name": role.name, "permissions": role.permissions},
    )
    return role


@transaction.atomic
def delete_role(*, role: Role, actor: User) -> None:
    if role.is_standard:
        raise ValidationError(_("Standard roles cannot be deleted."))
    if role.members.exists():
        raise ValidationError(_("The role is assigned to users; give them another role first."))
    audit.record(
        business=role.business,
        actor=actor,
        action="role.deleted",
        obj=role,
        before={"name": role.name, "permissions": role.permissions},
    )
    Invitation.objects.filter(role=role, accepted_at__isnull=True).delete()
    role.delete()


# --- Members (A3, A6) -----------------------------------------------------------------------


@transaction.atomic
def update_member(
    *,
    membership: Membership,
    role: Role | None,
    point_of_sale: PointOfSale | None,
    is_active: bool,
    actor: User,
) -> Membership:
    business = membership.business
    if membership.is_owner:
        raise ValidationError(_("The Office Owner's access cannot be changed."))
    if membership.user_id == actor.pk:
        raise ValidationError(_("You cannot change your own role or access."))
    for related in (role, point_of_sale):
        if related is not None and related.business_id != business.pk:
            raise ValidationError(_("This object belongs to another business."))
    if role is None:
        raise ValidationError({"role": _("Choose a role.")})
    fields = ["role", "point_of_sale", "is_active"]
    before, after = _apply(
        membership, {"role": role, "point_of_sale": point_of_sale, "is_active": is_active}, fields
    )
    if before != after:
        audit.record(
            business=business, actor=actor, action="member.updated", obj=membership, before=before, after=after
        )
    return membership


def _invitation_link(token: str) -> str:
    return links.absolute(reverse("accounts:invitation", kwargs={"token": token}))


@dataclass
class IssuedInvitation:
    invitation: Invitation
    link: str


@transaction.atomic
def invite_member(
    *,
    business: Business,
    email: str,
    role: Role,
    point_of_sale: PointOfSale | None = None,
    actor: User,
) -> IssuedInvitation:
    email = email.strip().lower()
    if role.business_id != business.pk or (point_of_sale and point_of_sale.business_id != business.pk):
        raise ValidationError(_("This object belongs to another business."))
    if Membership.objects.filter(business=business, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a user of your business.")})
    now = timezone.now()
    Invitation.objects.filter(business=business, email__iexact=email, accepted_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        business=business,
        email=email,
        role=role,
        point_of_sale=point_of_sale,
        token_hash=_digest(token),
        invited_by=actor,
        expires_at=now + settings.KOPILKA_INVITATION_TTL,
    )
    link = _invitation_link(token)
    audit.record(
        business=business,
        actor=actor,
        action="invitation.sent",
        obj=invitation,
        after={"email": email, "role": role.name, "point_of_sale": str(point_of_sale or "")},
    )
    context = {"business": business, "role": role, "link": link, "inviter": actor, "days": settings.KOPILKA_INVITATION_TTL.days}
    transaction.on_commit(
        lambda: send_mail(
            subject=_("You are invited to %(business)s in Kopilka") % {"business": business.name},
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    return IssuedInvitation(invitation=invitation, link=link)


@transaction.atomic
def revoke_invitation(*, invitation: Invitation, actor: User) -> None:
    if invitation.status != "pending":
        raise ValidationError(_("Only a pending invitation can be revoked."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(business=invitation.business, actor=actor, action="invitation.revoked", obj=invitation)


def find_invitation(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("business", "role")
        .filter(token_hash=_digest(token or ""))
        .first()
    )


def invitation_problem(invitation: Invitation | None) -> str | None:
    if invitation is None:
        return _("This invitation link is not valid.")
    status = invitation.status
    if status == "accepted":
        return _("This invitation has already been used.")
    if status == "revoked":
        return _("This invitation has been withdrawn. Ask for a new one.")
    if status == "expired":
        return _("This invitation has expired. Ask for a new one.")
    return None


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> Membership:
    found = find_invitation(token)
    invitation = Invitation.objects.select_for_update().filter(pk=found.pk).first() if found else None
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    assert invitation is not None
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("This invitation was sent to %(email)s. Log in with that e-mail to accept it.")
            % {"email": invitation.email}
        )
    membership, created = Membership.objects.get_or_create(
        business=invitation.business,
        user=user,
        defaults={"role": invitation.role, "point_of_sale": invitation.point_of_sale},
    )
    if not created and not membership.is_owner:
        membership.role = invitation.role
        membership.point_of_sale = invitation.point_of_sale
        membership.is_active = True
        membership.save(update_fields=["role", "point_of_sale", "is_active"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    user.last_business = invitation.business
    user.save(update_fields=["last_business"])
    audit.record(
        business=invitation.business,
        actor=user,
        action="invitation.accepted",
        obj=membership,
        after={"role": invitation.role.name},
    )
    return membership


@transaction.atomic
def register_invited_user(
    *, token: str, first_name: str, last_name: str, phone: str, password: str
) -> User:
    """An invitee without an account: the link proves the e-mail, so no code is needed."""
    invitation = find_invitation(token)
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    assert invitation is not None
    if email_taken(invitation.email):
        raise ValidationError(_("An account with this e-mail already exists. Log in instead."))
    user = User(email=invitation.email, first_name=first_name, last_name=last_name, phone=phone)
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    accept_invitation(token=token, user=user)
    return user


def clear_login_failures(*, user: User) -> int:
    """Lift a login lockout (django-axes) of this person, e.g. after they reset their password."""
    from axes.utils import reset

    return int(reset(username=user.email.lower()))


def switch_business(*, user: User, business_id: int) -> Membership:
    membership = (
        Membership.objects.select_related("business").filter(user=user, business_id=business_id, is_active=True).first()
    )
    if membership is None:
        raise ValidationError(_("You are not a user of this business."))
    user.last_business = membership.business
    user.save(update_fields=["last_business"])
    return membership
