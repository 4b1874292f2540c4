"""Cross-organization cases for the audit trail's routes (see tests/isolation.py)."""

from __future__ import annotations

from typing import Any

from cxm.tenancy.models import Organization
from tests.isolation import EXEMPT_MODELS, RouteCase, register


def _audit_event(org: Organization) -> dict[str, Any]:
    from cxm.audit.services import audit_record

    return {"pk": audit_record(organization=org, action="test.event", object_type="survey", object_id=1).pk}


register("audit-event-detail", RouteCase(_audit_event, models=("audit.AuditEvent",)))
EXEMPT_MODELS.update(
    {"audit.ResponseSeal": "read only by the verifier and an export's proof, never through a route"}
)
