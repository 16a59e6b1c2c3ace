"""Integrations → Webhooks: endpoints, their delivery log, manual redelivery."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.core.access import section_required
from kopilka.core.permissions import Level
from kopilka.integrations import selectors, services
from kopilka.integrations.forms import WebhookEndpointForm


def _errors_into(form: WebhookEndpointForm, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@section_required("integrations")
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.create_webhook_endpoint(
                business=business,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=request.user,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Webhook endpoint added."))
            return redirect("integrations:webhook_edit", endpoint_id=endpoint.pk)
    return render(
        request,
        "integrations/webhooks.html",
        {
            "endpoints": selectors.webhook_endpoints(business),
            "form": form,
            "can_edit": request.membership.can("integrations", Level.EDIT),  # type: ignore[attr-defined]
        },
    )


@section_required("integrations")
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    endpoint = selectors.access_webhook_endpoint(business=business, endpoint_id=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events, "is_active": endpoint.is_active}
    form = WebhookEndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_webhook_endpoint(
                business=business,
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                is_active=form.cleaned_data["is_active"],
                actor=request.user,
            )
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Webhook endpoint saved."))
            return redirect("integrations:webhook_edit", endpoint_id=endpoint.pk)
    return render(
        request,
        "integrations/webhook_edit.html",
        {
            "endpoint": endpoint,
            "form": form,
            "deliveries": selectors.deliveries_of(endpoint),
            "can_edit": request.membership.can("integrations", Level.EDIT),  # type: ignore[attr-defined]
        },
    )


@section_required("integrations")
@require_POST
def webhook_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    business = request.business  # type: ignore[attr-defined]
    delivery = selectors.access_webhook_delivery(business=business, delivery_id=delivery_id)
    result = services.redeliver(business=business, delivery=delivery, actor=request.user)
    if result is not None and result.status == result.Status.SUCCEEDED:
        messages.success(request, _("Delivered: HTTP %(code)s.") % {"code": result.response_code})
    else:
        messages.warning(request, _("The attempt failed; it will be retried on schedule."))
    return redirect("integrations:webhook_edit", endpoint_id=delivery.endpoint_id)
