"""Настройки: Профиль, Пользователи, Роли, Безопасность; and Торговые точки."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.accounts import selectors, services
from kopilka.accounts.forms import InviteForm, MemberForm, PointOfSaleForm, ProfileForm, RoleForm
from kopilka.accounts.models import Business
from kopilka.accounts.views.auth import _form_errors
from kopilka.core.access import member_required, section_required


@section_required("settings")
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    # The form edits a copy; the service compares the stored row with the new values.
    form = ProfileForm(request.POST or None, instance=Business.objects.get(pk=business.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_business_profile(business=business, data=form.cleaned_data, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            business.refresh_from_db()
            _form_errors(form, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/settings/profile.html", {"form": form, "can_edit": request.membership.can("settings", 2)})  # type: ignore[attr-defined]


@section_required("settings")
@require_http_methods(["GET"])
def members(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/settings/members.html",
        {
            "members": selectors.members(business),
            "invitations": selectors.pending_invitations(business),
            "invite_form": InviteForm(business=business),
        },
    )


@section_required("settings")
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    form = InviteForm(request.POST or None, business=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_member(
                business=business,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                point_of_sale=form.cleaned_data["point_of_sale"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The invitation has been sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("accounts:members")
    return render(request, "accounts/settings/invite.html", {"form": form})


@section_required("settings")
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.access_invitation(business=request.business, invitation_id=invitation_id)  # type: ignore[attr-defined]
    try:
        services.revoke_invitation(invitation=invitation, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The invitation has been withdrawn."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:members")


@section_required("settings")
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, member_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    membership = selectors.access_membership(business=business, member_id=member_id)
    form = MemberForm(
        request.POST or None,
        business=business,
        initial={"role": membership.role, "point_of_sale": membership.point_of_sale, "is_active": membership.is_active},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(
                membership=membership,
                role=form.cleaned_data["role"],
                point_of_sale=form.cleaned_data["point_of_sale"],
                is_active=form.cleaned_data["is_active"],
                actor=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            membership.refresh_from_db()
            _form_errors(form, exc)
        else:
            messages.success(request, _("User saved."))
            return redirect("accounts:members")
    return render(request, "accounts/settings/member_edit.html", {"form": form, "member": membership})


@section_required("settings")
@require_http_methods(["GET"])
def roles(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/settings/roles.html", {"roles": selectors.roles(request.business)})  # type: ignore[attr-defined]


@section_required("settings")
@require_http_methods(["GET", "POST"])
def role_edit(request: HttpRequest, role_id: int | None = None) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    role = selectors.access_role(business=business, role_id=role_id) if role_id else None
    form = RoleForm(request.POST or None, role=role)
    if request.method == "POST":
        if role is not None and role.is_standard:
            messages.error(request, _("Standard roles cannot be changed; create your own role instead."))
            return redirect("accounts:roles")
        if form.is_valid():
            try:
                services.save_role(
                    business=business,
                    name=form.cleaned_data["name"],
                    permissions=form.permissions(),
                    actor=request.user,  # type: ignore[arg-type]
                    role=role,
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Role saved."))
                return redirect("accounts:roles")
    return render(request, "accounts/settings/role_edit.html", {"form": form, "role": role})


@section_required("settings")
@require_POST
def role_delete(request: HttpRequest, role_id: int) -> HttpResponse:
    role = selectors.access_role(business=request.business, role_id=role_id)  # type: ignore[attr-defined]
    try:
        services.delete_role(role=role, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Role deleted."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:roles")


@member_required
@require_http_methods(["GET", "POST"])
def security(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password has been changed."))
        return redirect("accounts:security")
    return render(request, "accounts/settings/security.html", {"form": form})


@section_required("points_of_sale")
@require_http_methods(["GET"])
def pos_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/pos_list.html",
        {"points": selectors.points_of_sale(request.business), "can_edit": request.membership.can("points_of_sale", 2)},  # type: ignore[attr-defined]
    )


@section_required("points_of_sale")
@require_http_methods(["GET", "POST"])
def pos_edit(request: HttpRequest, pos_id: int | None = None) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    pos = selectors.access_point_of_sale(business=business, pos_id=pos_id) if pos_id else None
    form = PointOfSaleForm(request.POST or None, instance=pos)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if pos is not None:
            pos.refresh_from_db()  # the form wrote into the instance; services compare before/after
        try:
            services.save_point_of_sale(business=business, data=data, actor=request.user, point_of_sale=pos)  # type: ignore[arg-type]
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Point of sale saved."))
            return redirect("accounts:pos_list")
    return render(request, "accounts/pos_edit.html", {"form": form, "pos": pos})
