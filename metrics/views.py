from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cxm.tenancy.scoping import organization_required


@organization_required("view")
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/overview.html", {"nav": "dashboards"})
