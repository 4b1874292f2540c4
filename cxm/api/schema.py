"""OpenAPI descriptions of the API's authentication schemes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
