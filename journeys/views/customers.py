"""Pages: customers, their timeline, export and erasure."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxm.tenancy.scoping import organization_required, scoped_get_or_404
from cxm.tenancy.tenant import organization_of
from feedback import page_selectors as text_selectors
from feedback import selectors as feedback_selectors
from metrics import selectors as metrics_selectors
from surveys import selectors as surveys_selectors
from surveys.scoring import nps_category

from .. import selectors, services
from ..forms import CustomerFilterForm
from ..models import Customer
from ._common import _can


@organization_required("view")
def customer_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = CustomerFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {"q": data["q"], "city": data["city"], "gender": data["gender"]}
        if data["status"] == "subscribed":
            filters.update(unsubscribed=False, erased=False)
        elif data["status"] == "unsubscribed":
            filters["unsubscribed"] = True
        elif data["status"] == "erased":
            filters["erased"] = True
        if data["seen_after"]:
            filters["seen_after"] = datetime.combine(data["seen_after"], time.min, tzinfo=organization.tzinfo)
    customers = selectors.customer_list(organization=organization, filters=filters).order_by(
        "-last_seen_at", "-id"
    )
    page = Paginator(customers, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "journeys/customer_index.html",
        {
            "nav": "customers",
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "cities": selectors.customer_cities(organization=organization),
        },
    )


def _timeline(customer: Customer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for response in surveys_selectors.customer_responses(customer=customer, limit=100):
        items.append({"kind": "response", "at": response.submitted_at, "object": response})
    for invitation in surveys_selectors.customer_invitations(customer=customer, limit=100):
        items.append({"kind": "invitation", "at": invitation.created_at, "object": invitation})
    for interaction in selectors.customer_interactions(customer=customer, limit=100):
        items.append({"kind": "interaction", "at": interaction.occurred_at, "object": interaction})
    for order in selectors.customer_transactions(customer=customer, limit=100):
        items.append({"kind": "order", "at": order.occurred_at, "object": order})
    # The sentiment and themes of the customer's comments (one or two queries for all of them).
    text = feedback_selectors.response_text_results(
        organization=customer.organization,
        response_ids=[item["object"].pk for item in items if item["kind"] == "response"],
    )
    for item in items:
        if item["kind"] == "response":
            item["text"] = text.get(item["object"].pk)
    items.sort(key=lambda item: item["at"], reverse=True)
    return items


@organization_required("view")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    latest_nps = surveys_selectors.customer_latest_nps(customer=customer)
    segment = metrics_selectors.customer_segment(organization=customer.organization, customer=customer)
    return render(
        request,
        "journeys/customer_detail.html",
        {
            "nav": "customers",
            "customer": customer,
            "summary": selectors.customer_summary(customer=customer),
            "latest_nps": latest_nps,
            "latest_nps_category": nps_category(latest_nps.score) if latest_nps else None,
            "segment": segment,
            "timeline": _timeline(customer),
            "theme_names": text_selectors.theme_names(organization=customer.organization),
            "can_export": _can(request, "export"),
            "can_erase": _can(request, "erase_customer"),
        },
    )


@organization_required("export")
def customer_export(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    response = HttpResponse(
        json.dumps(
            surveys_selectors.customer_export_document(customer=customer),
            cls=DjangoJSONEncoder,
            ensure_ascii=False,
            indent=2,
        ),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
    return response


@require_POST
@organization_required("erase_customer")
def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    customer = scoped_get_or_404(request, Customer, pk=pk)
    services.customer_erase(customer=customer)
    messages.success(request, _("The customer's personal data was erased."))
    return redirect("customer-detail", pk=customer.pk)
