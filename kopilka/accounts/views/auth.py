"""Public account pages: sign-up with an e-mail code, login, password reset, invitations."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.accounts import services
from kopilka.accounts.forms import CodeForm, CompanyForm, InviteRegisterForm, LoginForm, SignupForm
from kopilka.accounts.models import EmailCode
from kopilka.core.access import public, signed_in_required
from kopilka.core.converters import parse_id
from kopilka.core.tenancy import SESSION_KEY

SIGNUP_SESSION_KEY = "kopilka_signup_code_id"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _form_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    form = LoginForm(request, data=request.POST or None)
    form.is_valid()  # fill cleaned data for redisplay; the error below replaces any other
    form.errors.clear()
    form.add_error(None, _("Too many failed attempts. Try again in 15 minutes or reset your password."))
    return render(request, "accounts/login.html", {"form": form}, status=429)


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The e-mail a login attempt is counted against (AXES_USERNAME_CALLABLE), case-folded.

    Without it axes looked for the ``email`` field (our USERNAME_FIELD), found nothing and counted
    every attempt from an address under one empty name; ``Anna@…`` and ``anna@…`` must count as one.
    """
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(raw).strip().lower() or None


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


LoginView.kopilka_access = "public"  # type: ignore[attr-defined]


@public
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        logout(request)
        return redirect("accounts:login")
    return render(request, "accounts/logout.html")


@public
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.start_signup(
                email=form.cleaned_data["email"],
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                exc = ValidationError({"password1": exc.error_list})
            _form_errors(form, exc)
        else:
            request.session[SIGNUP_SESSION_KEY] = record.pk
            return redirect("accounts:signup_verify")
    return render(request, "accounts/signup.html", {"form": form, "step": 1})


@public
@require_http_methods(["GET", "POST"])
def signup_verify(request: HttpRequest) -> HttpResponse:
    record_id = request.session.get(SIGNUP_SESSION_KEY)
    record = EmailCode.objects.filter(pk=record_id, used_at__isnull=True).first() if record_id else None
    if record is None:
        messages.info(request, _("Start the sign-up again."))
        return redirect("accounts:signup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and "resend" in request.POST:
        try:
            services.resend_signup_code(email_code=record)
            messages.success(request, _("We have sent a new code to %(email)s.") % {"email": record.email})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("accounts:signup_verify")
    if request.method == "POST" and form.is_valid():
        try:
            user = services.confirm_signup(email_code_id=record.pk, code=form.cleaned_data["code"])
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(SIGNUP_SESSION_KEY, None)
            login(request, user, backend=BACKEND)
            return redirect("accounts:onboarding")
    return render(request, "accounts/signup_verify.html", {"form": form, "email": record.email, "step": 2})


@signed_in_required
@require_http_methods(["GET", "POST"])
def onboarding(request: HttpRequest) -> HttpResponse:
    """Step 3: company details and the terms. Also where a person without a business lands."""
    form = CompanyForm(request.POST or None, initial={"first_name": getattr(request.user, "first_name", ""), "last_name": getattr(request.user, "last_name", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            business = services.create_business(
                owner=request.user,  # type: ignore[arg-type]
                name=data["name"],
                company_name=data["company_name"],
                legal_entity=data["legal_entity"],
                accept_terms=data["accept_terms"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Welcome to Kopilka, %(name)s!") % {"name": business.name})
            return redirect("core:home")
    return render(request, "accounts/onboarding.html", {"form": form, "step": 3})


@public
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the invitation e-mail: register, or log in, then join."""
    found = services.find_invitation(token)
    problem = services.invitation_problem(found)
    if problem:
        return render(request, "accounts/invitation_invalid.html", {"problem": problem}, status=410 if found else 404)
    assert found is not None
    context: dict[str, Any] = {"invitation": found, "token": token}
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.accept_invitation(token=token, user=request.user)  # type: ignore[arg-type]
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("accounts:invitation", token=token)
            request.session[SESSION_KEY] = membership.business_id  # work in the business just joined
            messages.success(request, _("You have joined %(business)s.") % {"business": found.business.name})
            return redirect("core:home")
        context["wrong_user"] = request.user.email.lower() != found.email.lower()
        return render(request, "accounts/invitation_accept.html", context)
    if services.email_taken(found.email):
        context["login_url"] = f"{reverse_lazy('accounts:login')}?next={request.path}"
        return render(request, "accounts/invitation_login.html", context)
    form = InviteRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.register_invited_user(
                token=token,
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data.get("phone") or "",
                password=data["password1"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                exc = ValidationError({"password1": exc.error_list})
            _form_errors(form, exc)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, _("You have joined %(business)s.") % {"business": found.business.name})
            return redirect("core:home")
    context["form"] = form
    return render(request, "accounts/invitation_register.html", context)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's view, but the link in the e-mail points at KOPILKA_PUBLIC_URL, not at the Host header.

    The Host header is whatever the client sent; a link built from it could send the reset token to
    an attacker's site. Without a configured public URL, Django's behaviour (the request) applies.
    """

    def form_valid(self, form: Any) -> HttpResponse:
        public_url = urlsplit(settings.PUBLIC_URL) if settings.PUBLIC_URL else None
        form.save(
            domain_override=public_url.netloc if public_url else None,
            use_https=public_url.scheme == "https" if public_url else self.request.is_secure(),
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=self.html_email_template_name,
            extra_email_context=self.extra_email_context,
        )
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view; a new password also lifts a login lockout ("…or reset your password")."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.clear_login_failures(user=form.user)
        return response


# Password reset by e-mail link ("Забыли пароль?") — Django's views with our templates.
_reset = {
    "password_reset": PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/email/password_reset.txt",
        subject_template_name="accounts/email/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password_reset_done"),
    ),
    "password_reset_done": auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
    "password_reset_confirm": PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        success_url=reverse_lazy("accounts:password_reset_complete"),
    ),
    "password_reset_complete": auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"
    ),
}
password_reset = public(_reset["password_reset"])
password_reset_done = public(_reset["password_reset_done"])
password_reset_confirm = public(_reset["password_reset_confirm"])
password_reset_complete = public(_reset["password_reset_complete"])


@signed_in_required
@require_POST
def switch_business(request: HttpRequest) -> HttpResponse:
    business_id = parse_id(request.POST.get("business"))
    try:
        if business_id is None:
            raise ValidationError("not an id")
        membership = services.switch_business(user=request.user, business_id=business_id)  # type: ignore[arg-type]
    except ValidationError:
        messages.error(request, _("You are not a user of this business."))
        return redirect("core:home")
    request.session[SESSION_KEY] = membership.business_id
    return redirect("core:home")
