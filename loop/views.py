"""Settings → Webhooks: endpoints, their secret (shown once), and each endpoint's delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import organization_required, scoped, scoped_get_or_404
from cxm.tenancy.tenant import organization_of

from . import services
from .forms import WebhookEndpointForm
from .models import WebhookDelivery, WebhookEndpoint

SECRET_SESSION_KEY = "loop:new-webhook-secret"


@organization_required("edit")
def settings_webhooks(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = services.endpoint_create(
            organization=organization_of(request), actor=request.user, **form.endpoint_fields()
        )
        request.session[SECRET_SESSION_KEY] = [endpoint.pk, endpoint.secret]
        return redirect("settings-webhook", pk=endpoint.pk)
    endpoints = scoped(request, WebhookEndpoint).order_by("-created_at")
    return render(
        request, "loop/settings_webhooks.html", {"form": form, "endpoints": endpoints, "section": "webhooks"}
    )


@organization_required("edit")
def settings_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = scoped_get_or_404(request, WebhookEndpoint, pk=pk)
    new_secret = None
    shown = request.session.pop(SECRET_SESSION_KEY, None)
    if shown and shown[0] == endpoint.pk:
        new_secret = shown[1]
    deliveries = (
        scoped(request, WebhookDelivery)
        .filter(endpoint=endpoint)
        .order_by("-created_at", "-pk")
        .only(
            "pk",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "next_attempt_at",
        )
    )
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "loop/settings_webhook.html",
        {"endpoint": endpoint, "page": page, "new_secret": new_secret, "section": "webhooks"},
    )


@require_POST
@organization_required("edit")
def webhook_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    endpoint = scoped_get_or_404(request, WebhookEndpoint, pk=pk)
    if action == "rotate":
        services.endpoint_rotate_secret(endpoint=endpoint)
        request.session[SECRET_SESSION_KEY] = [endpoint.pk, endpoint.secret]
        messages.success(
            request, _("A new secret signs from now on; the previous one also signs for 24 hours.")
        )
    elif action == "ping":
        services.endpoint_ping(endpoint=endpoint)
        messages.success(request, _("A test event is on its way."))
    elif action == "toggle":
        services.endpoint_update(endpoint=endpoint, is_active=not endpoint.is_active)
        messages.success(
            request, _("Endpoint switched on.") if endpoint.is_active else _("Endpoint switched off.")
        )
    elif action == "delete":
        endpoint.delete()
        messages.success(request, _("Endpoint deleted."))
        return redirect("settings-webhooks")
    return redirect("settings-webhook", pk=endpoint.pk)


@require_POST
@organization_required("edit")
def webhook_redeliver(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    delivery = scoped_get_or_404(request, WebhookDelivery, pk=delivery_pk, endpoint_id=pk)
    services.delivery_redeliver(delivery=delivery)
    messages.success(request, _("Delivery queued again."))
    return redirect("settings-webhook", pk=pk)
