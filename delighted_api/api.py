"""The Delighted v1 API under /delighted/v1/: Basic auth with a cxm API key, JSON only, Delighted's
status codes and error bodies, paths with or without `.json`."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.parsers import FormParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from cxm.api.parsers import LimitedJSONParser
from cxm.api.permissions import IsOrganizationMember
from cxm.api.throttling import ApiKeyRateThrottle
from cxm.tenancy.models import Organization
from cxm.tenancy.tenant import organization_of
from journeys.models import Customer
from metrics.selectors import nps_between
from surveys.models import Response, Survey

from . import presenters, selectors, services
from .authentication import DelightedBasicAuthentication

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000
# Delighted's metrics default to the last 30 days.
DEFAULT_METRICS_WINDOW = timedelta(days=30)
_MESSAGES = {
    401: "Authentication failed. Use HTTP Basic with your API key as the user name.",
    404: "Not found.",
    405: "Method not allowed.",
    406: "Only JSON is served. Request application/json or a path ending in .json.",
    422: "Resource validation failed.",
    429: "Too many requests. Retry after the number of seconds in the Retry-After header.",
}


class Unprocessable(exceptions.APIException):
    status_code = 422
    default_detail = "Resource validation failed."
    default_code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {"base": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def delighted_exception_handler(exc: Exception, context: dict[str, Any]) -> ApiResponse | None:
    """Delighted's error body: {"status": …, "message": …} and, on 422, "errors" per field."""
    if isinstance(exc, DjangoValidationError):
        exc = Unprocessable(_fields(exc.message_dict if hasattr(exc, "error_dict") else exc.messages))
    elif isinstance(exc, exceptions.ValidationError):
        exc = Unprocessable(_fields(exc.detail))
    elif isinstance(exc, exceptions.NotAuthenticated):
        header = getattr(exc, "auth_header", None)
        exc = exceptions.AuthenticationFailed(_MESSAGES[401])
        exc.auth_header = header  # type: ignore[attr-defined]
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # DRF logs it and Django answers 500
    body: dict[str, Any] = {"status": response.status_code}
    if isinstance(exc, Unprocessable):
        body["message"] = _MESSAGES[422]
        body["errors"] = exc.errors
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        body["message"] = str(detail) if detail else _MESSAGES.get(response.status_code, "Error.")
    response.data = body
    return response


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /delighted/: a JSON 404."""
    return JsonResponse({"status": 404, "message": _MESSAGES[404]}, status=404)


def _unix(params: Any, name: str, errors: dict[str, list[str]]) -> datetime | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(str(raw).strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        errors[name] = ["Give a time as Unix seconds (an integer)."]
        return None


def _int(
    params: Any, name: str, errors: dict[str, list[str]], *, low: int, high: int, default: int | None
) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        errors[name] = ["Give an integer."]
        return default
    if not low <= value <= high:
        errors[name] = [f"Give an integer from {low} to {high}."]
        return default
    return value


def _check(errors: dict[str, list[str]]) -> None:
    if errors:
        raise Unprocessable(errors)


def _body_dict(request: Request) -> dict[str, Any]:
    """The request body as a dict; a form body's `properties[key]` fields become an object."""
    data = request.data
    if not hasattr(data, "items"):
        raise Unprocessable({"base": ["Send a JSON object."]})
    if hasattr(data, "getlist"):  # a form body
        result: dict[str, Any] = {}
        for key in data:
            values = data.getlist(key)
            if "[" in key and key.endswith("]"):
                outer, _sep, inner = key[:-1].partition("[")
                if inner:
                    result.setdefault(outer, {})[inner] = values[-1]
                else:
                    result[outer] = values
            else:
                result[key] = values[-1]
        return result
    return dict(data)


def _properties(value: Any, name: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        errors[name] = ["Give an object of property names and values."]
        return None
    return {str(k): v for k, v in value.items()}


class DelightedView(APIView):
    authentication_classes = [DelightedBasicAuthentication]
    permission_classes = [IsOrganizationMember]
    throttle_classes = [ApiKeyRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [LimitedJSONParser, FormParser]
    schema = None  # Delighted's own API, documented by Delighted; not part of the cxm schema

    def get_exception_handler(self) -> Any:
        return delighted_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        fmt = kwargs.get("format")
        if fmt and fmt.lower() != "json":
            raise exceptions.NotAcceptable(_MESSAGES[406])
        super().initial(request, *args, **kwargs)

    @property
    def organization(self) -> Organization:
        return organization_of(self.request)

    def survey(self, trend: int | None = None) -> Survey:
        survey = selectors.api_survey(organization=self.organization, trend=trend)
        if survey is None:
            if trend is not None:
                raise Unprocessable({"trend": ["Unknown trend: give the id of one of your surveys."]})
            raise Unprocessable(
                {
                    "survey": [
                        "No NPS survey is set up: create an active survey that asks NPS first, "
                        "or choose one in Settings, Delighted API."
                    ]
                }
            )
        return survey

    def base_url(self) -> str:
        return self.request.build_absolute_uri("/").rstrip("/")


def _trend(params: Any, errors: dict[str, list[str]]) -> int | None:
    return _int(params, "trend", errors, low=1, high=2**62, default=None)


class PeopleView(DelightedView):
    def get(self, request: Request, format: str | None = None) -> ApiResponse:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        per_page = _int(params, "per_page", errors, low=1, high=MAX_PER_PAGE, default=DEFAULT_PER_PAGE)
        since, until = _unix(params, "since", errors), _unix(params, "until", errors)
        after_id = None
        if params.get("page_info"):
            try:
                after_id = int(base64.urlsafe_b64decode(params["page_info"].encode()).decode())
            except (ValueError, binascii.Error, UnicodeDecodeError):
                errors["page_info"] = ["This page_info is not one this API gave."]
        _check(errors)
        assert per_page is not None
        rows = list(
            selectors.people_list(
                organization=self.organization,
                after_id=after_id,
                since=since,
                until=until,
                email=(params.get("email") or "").strip(),
                phone_number=(params.get("phone_number") or "").strip(),
            )[: per_page + 1]
        )
        headers = {}
        if len(rows) > per_page:
            rows = rows[:per_page]
            headers = _next_link(request, base64.urlsafe_b64encode(str(rows[-1].pk).encode()).decode())
        return ApiResponse([presenters.person_json(c) for c in rows], headers=headers)

    def post(self, request: Request, format: str | None = None) -> ApiResponse:
        body = _body_dict(request)
        errors: dict[str, list[str]] = {}
        email = str(body.get("email") or "").strip()
        phone = str(body.get("phone_number") or "").strip()
        channel = str(body.get("channel") or ("sms" if phone and not email else "email")).strip()
        if not email and not phone:
            errors["email"] = ["Give an email or a phone_number."]
        if channel == "sms":
            errors["channel"] = ["SMS is not configured for this account: cxm sends surveys by email."]
        elif channel != "email":
            errors["channel"] = ["Give email or sms."]
        if channel == "email" and not email and phone:
            errors["email"] = ["An email survey needs an email."]
        properties = _properties(body.get("properties"), "properties", errors) or {}
        delay = _int(body, "delay", errors, low=0, high=10 * 365 * 86400, default=0) or 0
        send = body.get("send", True) not in (False, "false", "0", 0)
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            errors["name"] = ["Give a text."]
        _unix(body, "last_sent_at", errors)
        _check(errors)
        survey = self.survey() if send else None
        customer, created = services.person_upsert(
            organization=self.organization, email=email, phone_number=phone, name=name, properties=properties
        )
        scheduled = None
        if survey is not None:
            scheduled = services.survey_request_schedule(
                organization=self.organization,
                customer=customer,
                survey=survey,
                delay_seconds=delay,
                properties=properties,
            )
        data = presenters.person_json(customer, scheduled=scheduled)
        if scheduled is None:
            data["survey_scheduled_at"] = None
        return ApiResponse(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PersonView(DelightedView):
    def delete(self, request: Request, identifier: str, format: str | None = None) -> ApiResponse:
        customer = selectors.person_find(organization=self.organization, identifier=identifier)
        if customer is None:
            raise exceptions.NotFound()
        services.person_erase(organization=self.organization, customer=customer)
        return ApiResponse({"ok": True}, status=status.HTTP_202_ACCEPTED)


class PendingSurveyRequestsView(DelightedView):
    def delete(self, request: Request, identifier: str, format: str | None = None) -> ApiResponse:
        ident = identifier if ":" in identifier or identifier.isdigit() else f"email:{identifier}"
        customer = selectors.person_find(organization=self.organization, identifier=ident)
        if customer is None:
            raise exceptions.NotFound()
        services.survey_requests_cancel(organization=self.organization, customer=customer)
        return ApiResponse({"ok": True}, status=status.HTTP_202_ACCEPTED)


def _expand(params: Any) -> frozenset[str]:
    values = params.getlist("expand[]") + params.getlist("expand")
    return frozenset(v.strip() for value in values for v in value.split(",") if v.strip())


def _page(params: Any, errors: dict[str, list[str]]) -> tuple[int, int]:
    page = _int(params, "page", errors, low=1, high=MAX_PAGE, default=1) or 1
    per_page = _int(params, "per_page", errors, low=1, high=MAX_PER_PAGE, default=DEFAULT_PER_PAGE) or 20
    return page, per_page


def _next_link(request: Request, cursor: str) -> dict[str, str]:
    """The `Link: <…>; rel="next"` header of a cursor-paged list: the same query, the next cursor."""
    query = {k: v for k, v in request.query_params.items() if k != "page_info"}
    query["page_info"] = cursor
    return {"Link": f'<{request.build_absolute_uri(request.path)}?{urlencode(query)}>; rel="next"'}


class SurveyResponsesView(DelightedView):
    def get(self, request: Request, format: str | None = None) -> ApiResponse:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        page, per_page = _page(params, errors)
        filters: dict[str, Any] = {
            name: _unix(params, name, errors) for name in ("since", "until", "updated_since", "updated_until")
        }
        filters["person_id"] = _int(params, "person_id", errors, low=1, high=2**62, default=None)
        filters["person_email"] = (params.get("person_email") or "").strip()
        order = (params.get("order") or "asc").strip()
        if order not in ("asc", "desc", "asc:updated_at", "desc:updated_at"):
            errors["order"] = ["Give asc, desc, asc:updated_at or desc:updated_at."]
        filters["order"] = order
        expand = _expand(params)
        if expand - {"person", "notes"}:
            errors["expand"] = ["Give person and/or notes."]
        trend = _trend(params, errors)
        _check(errors)
        survey = self.survey(trend)
        rows = list(
            selectors.responses_list(organization=self.organization, survey=survey, filters=filters)[
                (page - 1) * per_page : page * per_page
            ]
        )
        return ApiResponse(self.present(rows, survey, expand))

    def present(self, rows: list[Response], survey: Survey, expand: frozenset[str]) -> list[dict[str, Any]]:
        snapshot = selectors.snapshot_of(survey)
        annotations = selectors.annotations_for(
            organization=self.organization, response_ids=[r.pk for r in rows]
        )
        return [
            presenters.response_json(
                r,
                snapshot=snapshot,
                annotation=annotations.get(r.pk),
                expand=expand,
                base_url=self.base_url(),
            )
            for r in rows
        ]

    def post(self, request: Request, format: str | None = None) -> ApiResponse:
        body = _body_dict(request)
        errors: dict[str, list[str]] = {}
        person_ref = str(body.get("person") or "").strip()
        customer = None
        if not person_ref:
            errors["person"] = ["Give the id of the person responding."]
        else:
            customer = selectors.person_find(organization=self.organization, identifier=person_ref)
            if customer is None:
                errors["person"] = ["Unknown person."]
        score = _int(body, "score", errors, low=0, high=10, default=None)
        if score is None and "score" not in errors:
            errors["score"] = ["Give a score from 0 to 10."]
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            errors["comment"] = ["Give a text."]
        properties = _properties(body.get("person_properties"), "person_properties", errors) or {}
        properties.update(_properties(body.get("properties"), "properties", errors) or {})
        created_at = _unix(body, "created_at", errors)
        trend = _trend(body, errors)
        _check(errors)
        assert customer is not None and score is not None
        survey = self.survey(trend)
        result = services.response_create(
            survey=survey,
            customer=customer,
            score=score,
            comment=comment or "",
            person_properties=properties,
            created_at=created_at,
        )
        response = self._get(result.response_id)
        return ApiResponse(self.present([response], survey, frozenset())[0], status=status.HTTP_201_CREATED)

    def _get(self, pk: int) -> Response:
        return (
            Response.objects.for_organization(self.organization)
            .select_related("customer", "survey")
            .prefetch_related("answers")
            .get(pk=pk)
        )


class SurveyResponseView(SurveyResponsesView):
    def _find(self, response_id: str) -> Response:
        if not response_id.isdigit():
            raise exceptions.NotFound()
        response = (
            Response.objects.for_organization(self.organization)
            .select_related("customer", "survey")
            .prefetch_related("answers")
            .filter(pk=int(response_id))
            .first()
        )
        if response is None:
            raise exceptions.NotFound()
        return response

    def get(self, request: Request, response_id: str, format: str | None = None) -> ApiResponse:  # type: ignore[override]
        response = self._find(response_id)
        return ApiResponse(self.present([response], response.survey, _expand(request.query_params))[0])

    def post(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:  # type: ignore[override]
        raise exceptions.MethodNotAllowed("POST")

    def put(self, request: Request, response_id: str, format: str | None = None) -> ApiResponse:
        response = self._find(response_id)
        body = _body_dict(request)
        errors: dict[str, list[str]] = {}
        score = _int(body, "score", errors, low=0, high=10, default=None)
        comment = body.get("comment")
        if comment is not None and not isinstance(comment, str):
            errors["comment"] = ["Give a text."]
        properties = _properties(body.get("person_properties"), "person_properties", errors)
        tags = body.get("tags")
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            errors["tags"] = ["Give a list of texts."]
        notes = body.get("notes")
        if notes is not None and not isinstance(notes, list):
            errors["notes"] = ["Give a list of notes."]
        _check(errors)
        updated = services.response_update(
            organization=self.organization,
            response=response,
            score=score,
            comment=comment,
            person_properties=properties,
            tags=tags,
            notes=notes,
        )
        expand = _expand(request.query_params) | {"person", "notes"}
        updated = self._find(str(updated.pk))
        return ApiResponse(self.present([updated], updated.survey, frozenset(expand))[0])


class MetricsView(DelightedView):
    def get(self, request: Request, format: str | None = None) -> ApiResponse:
        params = request.query_params
        errors: dict[str, list[str]] = {}
        since, until = _unix(params, "since", errors), _unix(params, "until", errors)
        trend = _trend(params, errors)
        _check(errors)
        until = until or timezone.now()
        since = since or until - DEFAULT_METRICS_WINDOW
        if since > until:
            raise Unprocessable({"since": ["since must not be after until."]})
        survey = self.survey(trend)
        # `until` is inclusive in Delighted; one second more makes the half-open window.
        nps = nps_between(
            organization=self.organization, since=since, until=until + timedelta(seconds=1), survey=survey.pk
        )
        return ApiResponse(presenters.metrics_json(nps))


def _page_window(params: Any) -> tuple[slice, datetime | None, datetime | None]:
    """`page`, `per_page`, `since` and `until` of a paged list: (rows to show, since, until)."""
    errors: dict[str, list[str]] = {}
    page, per_page = _page(params, errors)
    since, until = _unix(params, "since", errors), _unix(params, "until", errors)
    _check(errors)
    return slice((page - 1) * per_page, page * per_page), since, until


class UnsubscribesView(DelightedView):
    def get(self, request: Request, format: str | None = None) -> ApiResponse:
        window, since, until = _page_window(request.query_params)
        rows = selectors.unsubscribed_people(organization=self.organization, since=since, until=until)
        return ApiResponse([presenters.unsubscribe_json(c) for c in rows[window]])

    def post(self, request: Request, format: str | None = None) -> ApiResponse:
        body = _body_dict(request)
        email = str(body.get("person_email") or "").strip()
        if not email:
            raise Unprocessable({"person_email": ["Give the email of the person to unsubscribe."]})
        services.person_unsubscribe(organization=self.organization, email=email)
        return ApiResponse({"ok": True})


class BouncesView(DelightedView):
    def get(self, request: Request, format: str | None = None) -> ApiResponse:
        window, since, until = _page_window(request.query_params)
        rows = selectors.bounced_invitations(organization=self.organization, since=since, until=until)
        return ApiResponse(
            [
                {
                    "person_id": str(i.customer_id),
                    "email": i.customer.email or None,
                    "name": i.customer.name or None,
                    "bounced_at": presenters.unix(i.created_at),
                }
                for i in rows[window]
            ]
        )


# --- Autopilot ---------------------------------------------------------------------------------

SMS_NOT_CONFIGURED = {"platform": ["SMS is not configured for this account: autopilot runs by email only."]}


class AutopilotConfigurationView(DelightedView):
    def get(self, request: Request, platform: str, format: str | None = None) -> ApiResponse:
        if platform == "sms":
            raise Unprocessable(SMS_NOT_CONFIGURED)
        if platform != "email":
            raise exceptions.NotFound()
        configuration = selectors.configuration_of(organization=self.organization)
        survey = selectors.api_survey(organization=self.organization)
        interval = services.autopilot_interval(organization=self.organization)
        return ApiResponse(
            {
                "platform_id": "email",
                "active": survey is not None,
                "frequency": int(interval.total_seconds()),
                "created_at": presenters.unix(survey.created_at) if survey else None,
                "updated_at": presenters.unix(configuration.updated_at) if configuration else None,
            }
        )


class AutopilotMembershipsView(DelightedView):
    def _platform(self, platform: str) -> None:
        if platform == "sms":
            raise Unprocessable(SMS_NOT_CONFIGURED)
        if platform != "email":
            raise exceptions.NotFound()

    def get(self, request: Request, platform: str, format: str | None = None) -> ApiResponse:
        self._platform(platform)
        params = request.query_params
        errors: dict[str, list[str]] = {}
        per_page = _int(params, "per_page", errors, low=1, high=MAX_PER_PAGE, default=DEFAULT_PER_PAGE) or 20
        person_id = _int(params, "person_id", errors, low=1, high=2**62, default=None)
        after_id = _int(params, "page_info", errors, low=0, high=2**62, default=None)
        _check(errors)
        rows = selectors.autopilot_memberships(
            organization=self.organization,
            channel="email",
            person_id=person_id,
            person_email=(params.get("person_email") or "").strip(),
        )
        if after_id is not None:
            rows = rows.filter(pk__gt=after_id)
        page = list(rows[: per_page + 1])
        headers = {}
        if len(page) > per_page:
            page = page[:per_page]
            headers = _next_link(request, str(page[-1].pk))
        pending = selectors.pending_requests_of(
            organization=self.organization, customer_ids=[m.customer_id for m in page]
        )
        return ApiResponse(
            [presenters.membership_json(m, next_request=pending.get(m.customer_id)) for m in page],
            headers=headers,
        )

    def _person(self, body: dict[str, Any], *, create: bool) -> Customer:
        errors: dict[str, list[str]] = {}
        email = str(body.get("person_email") or "").strip()
        person_id = str(body.get("person_id") or "").strip()
        if body.get("person_phone_number") and not email and not person_id:
            raise Unprocessable(SMS_NOT_CONFIGURED)
        if not email and not person_id:
            errors["person_email"] = ["Give person_email or person_id."]
        _check(errors)
        if person_id:
            customer = selectors.person_find(organization=self.organization, identifier=person_id)
        elif create:
            properties = _properties(body.get("properties"), "properties", errors)
            _check(errors)
            customer, _created = services.person_upsert(
                organization=self.organization,
                email=email,
                name=body.get("person_name") if isinstance(body.get("person_name"), str) else None,
                properties=properties,
            )
        else:
            customer = selectors.person_find(organization=self.organization, identifier=f"email:{email}")
        if customer is None:
            raise exceptions.NotFound()
        return customer

    def post(self, request: Request, platform: str, format: str | None = None) -> ApiResponse:
        self._platform(platform)
        body = _body_dict(request)
        errors: dict[str, list[str]] = {}
        properties = _properties(body.get("properties"), "properties", errors)
        _check(errors)
        survey = self.survey()
        customer = self._person(body, create=True)
        membership = services.autopilot_add(
            organization=self.organization, customer=customer, survey=survey, properties=properties
        )
        pending = selectors.pending_requests_of(organization=self.organization, customer_ids=[customer.pk])
        return ApiResponse(presenters.membership_json(membership, next_request=pending.get(customer.pk)))

    def delete(self, request: Request, platform: str, format: str | None = None) -> ApiResponse:
        self._platform(platform)
        body = _body_dict(request)
        customer = self._person(body, create=False)
        removed = services.autopilot_remove(organization=self.organization, customer=customer)
        if not removed:
            raise exceptions.NotFound()
        return ApiResponse({"person": presenters.person_json(customer)})
