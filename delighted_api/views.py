"""Settings, Delighted API: the base URL and key to paste into an existing integration, the survey it
answers for, the autopilot interval, and the import of a Delighted export."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cxm.tenancy.scoping import organization_required
from cxm.tenancy.selectors import api_keys_for_organization
from cxm.tenancy.tenant import organization_of
from surveys.models import Survey, SurveyStatus

from . import selectors, services
from .forms import ConfigurationForm, ImportForm
from .imports import delighted_import
from .models import DEFAULT_AUTOPILOT_DAYS

BASE_PATH = "/delighted/v1/"


def _surveys(organization: Any) -> list[Survey]:
    return list(
        Survey.objects.for_organization(organization).exclude(status=SurveyStatus.DRAFT).order_by("name")
    )


@organization_required("manage_api_keys")
def delighted_settings(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    configuration = selectors.configuration_of(organization=organization)
    nps_surveys = selectors.nps_surveys(organization=organization)
    initial = {
        "survey": configuration.survey if configuration else None,
        "autopilot_interval_days": configuration.autopilot_interval_days
        if configuration
        else DEFAULT_AUTOPILOT_DAYS,
    }
    form = ConfigurationForm(
        request.POST if request.POST.get("action") == "configure" else None,
        initial=initial,
        surveys=nps_surveys,
    )
    import_form = ImportForm(
        request.POST if request.POST.get("action") == "import" else None,
        request.FILES or None,
        surveys=_surveys(organization),
        initial={"survey": selectors.api_survey(organization=organization)},
    )
    result = None
    if request.method == "POST" and request.POST.get("action") == "configure" and form.is_valid():
        services.configuration_save(
            organization=organization,
            survey=form.cleaned_data["survey"],
            autopilot_interval_days=form.cleaned_data["autopilot_interval_days"],
        )
        messages.success(request, _("Saved."))
        return redirect("delighted-settings")
    if request.method == "POST" and request.POST.get("action") == "import" and import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        name = upload.name.lower()
        try:
            content = upload.read().decode("utf-8-sig")
            result = delighted_import(
                organization=organization,
                survey=import_form.cleaned_data["survey"],
                content=content,
                fmt="jsonl" if name.endswith((".jsonl", ".ndjson", ".json")) else "csv",
                kind=import_form.cleaned_data["kind"],
            )
        except UnicodeDecodeError:
            import_form.add_error("file", _("The file is not UTF-8 text."))
        except ValidationError as exc:
            import_form.add_error("file", " ".join(exc.messages))
    survey = selectors.api_survey(organization=organization)
    return render(
        request,
        "delighted/settings.html",
        {
            "section": "delighted",
            "base_url": settings.SITE_URL.rstrip("/") + BASE_PATH,
            "keys": [k for k in api_keys_for_organization(organization=organization) if not k.revoked_at],
            "survey": survey,
            "form": form,
            "import_form": import_form,
            "result": result,
        },
    )
