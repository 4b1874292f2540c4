"""Cross-organization cases for journeys routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from cxm.tenancy.models import Organization
from tests.isolation import EXEMPT_MODELS, EXEMPT_ROUTES, RouteCase, register  # noqa: F401


def _journey(org: Organization) -> dict[str, Any]:
    from .factories import JourneyFactory

    return {"pk": JourneyFactory(organization=org).pk}


def _stage(org: Organization) -> dict[str, Any]:
    from .factories import StageFactory

    return {"pk": StageFactory(journey__organization=org).pk}


def _touchpoint(org: Organization) -> dict[str, Any]:
    from .factories import TouchpointFactory

    return {"pk": TouchpointFactory(stage__journey__organization=org).pk}


def _customer_external_id(org: Organization) -> dict[str, Any]:
    from .factories import CustomerFactory

    return {"external_id": CustomerFactory(organization=org, external_id=f"theirs-{org.slug}").external_id}


def _customer(org: Organization) -> dict[str, Any]:
    from .factories import CustomerFactory

    return {"pk": CustomerFactory(organization=org).pk}


def _import_job(org: Organization) -> dict[str, Any]:
    from journeys.models import ImportJob

    return {"pk": ImportJob.objects.create(organization=org, kind="customers", file_path="/nonexistent").pk}


_WRITE = ("GET", "PUT", "PATCH", "DELETE")
register("api-journey-detail", RouteCase(_journey, models=("journeys.Journey",), methods=_WRITE))
register("api-journey-reorder-stages", RouteCase(_journey, models=("journeys.Journey",), methods=("POST",)))
register("api-stage-detail", RouteCase(_stage, models=("journeys.Stage",), methods=_WRITE))
register("api-stage-reorder-touchpoints", RouteCase(_stage, models=("journeys.Stage",), methods=("POST",)))
register("api-touchpoint-detail", RouteCase(_touchpoint, models=("journeys.Touchpoint",), methods=_WRITE))
register(
    "api-customer-detail",
    RouteCase(
        _customer_external_id, models=("journeys.Customer",), methods=("GET", "PUT", "PATCH", "DELETE")
    ),
)
register("api-customer-export", RouteCase(_customer_external_id, models=("journeys.Customer",)))
register(
    "api-customer-erase", RouteCase(_customer_external_id, models=("journeys.Customer",), methods=("POST",))
)

EXEMPT_MODELS.update(
    {
        "journeys.Interaction": "listed only through the organization-scoped /api/v1/interactions/ and a "
        "customer's page (covered by the customer routes); no route takes an interaction id",
        "journeys.Transaction": "listed only through the organization-scoped /api/v1/transactions/ and a "
        "customer's page (covered by the customer routes); no route takes a transaction id",
        "journeys.ExchangeRate": "listed and set only through the organization-scoped /api/v1/exchange-rates/ "
        "(tests/journeys/test_exchange_rates.py); no route takes a rate id",
    }
)

# Pages
register("journey-map", RouteCase(_journey, models=("journeys.Journey",)))
register("journey-edit", RouteCase(_journey, models=("journeys.Journey",), methods=("GET", "POST")))
register("journey-delete", RouteCase(_journey, models=("journeys.Journey",), methods=("POST",)))
register("journey-paths", RouteCase(_journey, models=("journeys.Journey",)))
register("stage-add", RouteCase(_journey, models=("journeys.Journey",), methods=("POST",)))
register("stage-edit", RouteCase(_stage, models=("journeys.Stage",), methods=("GET", "POST")))
register("stage-move", RouteCase(_stage, models=("journeys.Stage",), methods=("POST",)))
register("stage-delete", RouteCase(_stage, models=("journeys.Stage",), methods=("POST",)))
register("touchpoint-detail", RouteCase(_touchpoint, models=("journeys.Touchpoint",)))
register("touchpoint-edit", RouteCase(_touchpoint, models=("journeys.Touchpoint",), methods=("GET", "POST")))
register("touchpoint-move", RouteCase(_touchpoint, models=("journeys.Touchpoint",), methods=("POST",)))
register("touchpoint-delete", RouteCase(_touchpoint, models=("journeys.Touchpoint",), methods=("POST",)))
register("customer-detail", RouteCase(_customer, models=("journeys.Customer",)))
register("customer-export", RouteCase(_customer, models=("journeys.Customer",)))
register("customer-erase", RouteCase(_customer, models=("journeys.Customer",), methods=("POST",)))
register("import-detail", RouteCase(_import_job, models=("journeys.ImportJob",)))
register("import-status", RouteCase(_import_job, models=("journeys.ImportJob",)))
