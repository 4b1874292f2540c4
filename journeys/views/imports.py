"""Pages: CSV imports and their progress."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from cxm.tenancy.scoping import organization_required, scoped_get_or_404
from cxm.tenancy.tenant import organization_of

from .. import selectors
from ..forms import ImportForm
from ..imports import import_job_create, registered_kinds_help
from ..models import ImportJob


@organization_required("edit")
def import_index(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_job_create(
            organization=organization,
            kind=form.cleaned_data["kind"],
            chunks=upload.chunks(),
            original_name=upload.name or "",
            skip_bad_rows=form.cleaned_data["skip_bad_rows"],
            created_by=request.user,
        )
        return redirect("import-detail", pk=job.pk)
    return render(
        request,
        "journeys/import_index.html",
        {
            "nav": "customers",
            "form": form,
            "jobs": selectors.import_jobs(organization=organization),
            "registered_kinds": registered_kinds_help(),
        },
    )


def _job_status(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.is_finished,
        "total": job.total,
        "processed": job.processed,
        "percent": job.percent,
        "created": job.created_count,
        "error_count": job.error_count,
        "errors": job.errors[:200],
        "message": job.message,
    }


@organization_required("edit")
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = scoped_get_or_404(request, ImportJob, pk=pk)
    return render(request, "journeys/import_detail.html", {"nav": "customers", "job": job})


@organization_required("edit")
def import_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = scoped_get_or_404(request, ImportJob, pk=pk)
    return JsonResponse(_job_status(job))
