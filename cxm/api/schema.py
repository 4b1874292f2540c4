"""OpenAPI descriptions of the API's authentication schemes and of its errors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "cxm.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "http", "scheme": "bearer", "bearerFormat": "cxm_<prefix>_<secret>"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "cxm.api.authentication.OrganizationSessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def _blank_in_model(field: Any) -> bool:
    """Whether a read-only model field may hold `""`: DRF drops `allow_blank` from read-only fields."""
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    if not field.read_only or model is None or not field.source or "." in field.source:
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:
        return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, where a read-only email or URL field that may be blank says so.

    drf-spectacular lets `""` through a format only for fields with `allow_blank=True`; read-only
    fields of a model (`EmailField(blank=True)`) hold `""` too, so the format applies to other values.
    """

    def _insert_field_validators(self, field: Any, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        if schema.get("type") == "string" and "format" in schema and _blank_in_model(field):
            outer_keys = {"readOnly", "writeOnly", "nullable", "deprecated", "description", "title"}
            inner = {key: schema.pop(key) for key in list(schema) if key not in outer_keys}
            schema["oneOf"] = [inner, {"type": "string", "maxLength": 0}]


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status code."},
                "code": {"type": "string", "description": "A stable machine-readable code, e.g. `invalid`."},
                "message": {"type": "string", "description": "A human-readable summary."},
                "fields": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Per-field messages of a validation error.",
                },
            },
            "required": ["status", "code", "message"],
        }
    },
    "required": ["error"],
}

_ERROR_DESCRIPTIONS = {
    "400": "The request is invalid (see `error.fields`).",
    "401": "No credentials, or invalid ones.",
    "403": "The credentials do not allow this action.",
    "404": "No such object in this organization.",
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}


def _error_statuses(operation: dict[str, Any], method: str) -> list[str]:
    statuses = ["429"]
    has_body = "requestBody" in operation or method in ("post", "put", "patch")
    parameters = operation.get("parameters", [])
    if has_body or parameters:
        statuses.append("400")
    if has_body:
        statuses += ["413", "415"]
    if any(requirement for requirement in operation.get("security", [])):
        statuses += ["401", "403"]
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.append("404")
    return statuses


def postprocess_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Document the JSON errors every operation can answer, in the one shape `cxm.api.exceptions` gives."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status_code in _error_statuses(operation, method):
                responses.setdefault(status_code, {"description": _ERROR_DESCRIPTIONS[status_code]})
            for status_code, response in responses.items():
                if str(status_code).startswith("4") and "content" not in response:
                    response["content"] = {"application/json": {"schema": reference}}
    return result
