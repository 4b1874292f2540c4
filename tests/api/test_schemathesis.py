"""The API keeps its OpenAPI contract: every operation of the served schema, fuzzed by schemathesis.

Each operation runs in-process against the WSGI app, authenticated with a real API key of an
organization that has journeys, touchpoints, customers, orders, surveys, invitations and responses,
so reads reach data and path parameters often name real rows. Generation is derandomized and bounded
(a fixed number of examples per operation, no deadline), so a run is repeatable and its length known.
Every check schemathesis has runs: no 5xx, the documented status codes, content types and headers,
bodies conforming to the response schemas, auth enforced, valid input accepted, invalid input refused.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode, checks
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from cxm.tenancy.services import api_key_create
from cxm.wsgi import application

from ..factories import OrganizationFactory
from ..metrics.data import seed_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("schemathesis")]

# Fuzzed examples per operation, after schemathesis' deterministic coverage cases (boundaries, wrong
# types, missing parameters, unexpected methods): about 4,000 requests in all, about a minute of CPU.
MAX_EXAMPLES = 6

# Both are about input validation, not the contract of what the API answers:
# - positive_data_acceptance: a schema-valid body may still name a survey, journey or touchpoint that
#   does not exist in the organization, or repeat a unique key; OpenAPI cannot express either, and the
#   API answers such input with a documented JSON 400.
# - negative_data_rejection: the API is lenient where DRF is (a number is accepted for a text field,
#   an empty query parameter means "not given", bulk endpoints report bad rows in a 200 instead of
#   refusing the batch), which is intended behaviour.
EXCLUDED_CHECKS = [checks.positive_data_acceptance, checks.negative_data_rejection]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application  # the production entry point, with the public submission's lean lane


def _seed() -> tuple[str, dict[str, list[str]]]:
    """An organization with data in every app; returns its API key and real values per path parameter."""
    from journeys.models import Journey, Stage, Touchpoint
    from surveys import services as survey_services
    from surveys.models import Invitation, Question, Response, Survey

    organization = OrganizationFactory(slug="contract", name="Contract")
    data = seed_dataset(organization, customers=12, seed=5)
    survey = survey_services.survey_create_from_template(organization=organization, template="nps")
    survey_services.survey_set_status(survey=survey, action="activate")
    customer = data["customers"][1]
    customer.email = "li@example.com"
    customer.save(update_fields=["email"])
    Invitation.objects.create(organization=organization, survey=survey, customer=customer)
    _key, plaintext = api_key_create(organization=organization, name="contract")

    def ids(model: Any) -> list[str]:
        return [str(pk) for pk in model.objects.for_organization(organization).values_list("pk", flat=True)]

    real = {
        "journeys": ids(Journey),
        "stages": ids(Stage),
        "touchpoints": ids(Touchpoint),
        "surveys": ids(Survey),
        "questions": ids(Question),
        "responses": ids(Response)[:5],
        "invitations": ids(Invitation),
        "customers": [c.external_id for c in data["customers"][:5]],
        "public": list(
            Survey.objects.unscoped()
            .filter(organization=organization, status="active")
            .values_list("public_id", flat=True)
        ),
    }
    return plaintext, real


@pytest.fixture
def contract_org(db: Any) -> Iterator[tuple[str, dict[str, list[str]], Iterator[int]]]:
    key, real = _seed()
    # As Django's test client does: the end of a request must not close the connection that holds
    # the test's transaction (on PostgreSQL that would lose the seeded rows and fail every later call).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield key, real, itertools.count()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _use_real_rows(case: Any, real: dict[str, list[str]], turn: int) -> None:
    """Every other valid example names a row that exists, so the operation's success path is exercised too."""
    if not case.path_parameters or turn % 2 or case.meta is None:
        return
    if case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    resource = case.operation.path.removeprefix("/api/v1/").split("/")[0]
    values = real.get(resource, [])
    for name in case.path_parameters:
        if values:
            case.path_parameters[name] = values[turn // 2 % len(values)]


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# One pytest item per operation, named by it. (`@schema.parametrize()` gives every item the same node
# id, so under pytest-xdist only one of them would run.)
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_api_keeps_its_contract(
    operation: Any, contract_org: tuple[str, dict[str, list[str]], Iterator[int]]
) -> None:
    key, real, turns = contract_org

    def call(case: Any) -> None:
        _use_real_rows(case, real, next(turns))
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=EXCLUDED_CHECKS)

    # The same test `@schema.parametrize()` builds: explicit examples, coverage cases, then fuzzing.
    build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=call,
        given_kwargs={},
        feedback=FeedbackSources(),
        explicit_settings=SETTINGS,
    )()
