"""Settings → Audit log: the organization's trail, newest first, with filters."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cxm.tenancy.scoping import organization_required
from cxm.tenancy.tenant import organization_of

from .forms import AuditFilterForm
from .selectors import audit_choices, audit_events


@organization_required("view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    actions, object_types = audit_choices(organization=organization)
    form = AuditFilterForm(request.GET or None, actions=actions, object_types=object_types)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events(organization=organization, filters=filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode(), "section": "audit"},
    )
