"""Pages: the organization exchange rates."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cxm.tenancy.scoping import organization_required
from cxm.tenancy.tenant import organization_of

from .. import selectors, services
from ..forms import ExchangeRateForm


@organization_required("manage_organization")
def exchange_rates(request: HttpRequest) -> HttpResponse:
    organization = organization_of(request)
    form = ExchangeRateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.exchange_rate_set(organization=organization, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Exchange rate saved."))
            return redirect("exchange-rates")
    return render(
        request,
        "journeys/exchange_rates.html",
        {
            "section": "exchange_rates",
            "form": form,
            "rates": selectors.exchange_rate_list(organization=organization),
            "left_out": selectors.transactions_without_rate(organization=organization),
        },
    )
