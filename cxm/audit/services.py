"""Writing the audit trail. Every service that changes something an organization cares about calls
`audit_record` inside its own transaction, so the event commits (or rolls back) with the change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from cxm.tenancy.models import Organization

from . import chain
from .context import current_origin
from .models import AuditChainHead, AuditEvent

# The fields of a row that its hash covers (everything but the hash itself).
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_user_id",
    "actor",
    "api_key_id",
    "api_key_prefix",
    "ip",
    "user_agent",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
)

# Never copied into the trail: secrets and their hashes.
REDACTED_FIELDS = frozenset(
    {"widget_secret", "hashed_key", "token_hash", "password", "client_secret", "client_secret_encrypted"}
)


def event_payload(event: AuditEvent) -> bytes:
    return chain.canonical({name: getattr(event, name) for name in HASHED_FIELDS})


def _organization_id(organization: Organization | int) -> int:
    return organization if isinstance(organization, int) else int(organization.pk)


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...] | None = None) -> dict[str, Any]:
    """The concrete field values of a model instance, as JSON, secrets left out."""
    values: dict[str, Any] = {}
    for model_field in instance._meta.concrete_fields:
        name = model_field.attname
        if fields is not None and model_field.name not in fields and name not in fields:
            continue
        if model_field.name in REDACTED_FIELDS:
            continue
        values[name] = getattr(instance, name)
    return chain.jsonable(values)  # type: ignore[no-any-return]


def changed(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, on both sides."""
    before, after = before or {}, after or {}
    keys = [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in keys if k in before}, {k: after.get(k) for k in keys if k in after}


@transaction.atomic
def audit_record(
    *,
    organization: Organization | int,
    action: str,
    object_type: str,
    object_id: Any = "",
    object_repr: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Appends one event to the organization's chain. The chain head is locked for the rest of the
    caller's transaction, so concurrent writers of one organization take turns and never fork it."""
    organization_id = _organization_id(organization)
    head = AuditChainHead.objects.select_for_update().filter(organization_id=organization_id).first()
    if head is None:  # the organization's first event
        AuditChainHead.objects.get_or_create(organization_id=organization_id)
        head = AuditChainHead.objects.select_for_update().get(organization_id=organization_id)
    origin = current_origin()
    event = AuditEvent(
        organization_id=organization_id,
        seq=head.seq + 1,
        created_at=timezone.now(),
        actor_user_id=origin.actor_user_id,
        actor=origin.actor,
        api_key_id=origin.api_key_id,
        api_key_prefix=origin.api_key_prefix,
        ip=origin.ip,
        user_agent=origin.user_agent,
        action=action[:64],
        object_type=object_type[:64],
        object_id=str(object_id if object_id is not None else "")[:64],
        object_repr=str(object_repr)[:200],
        before=chain.jsonable(before),
        after=chain.jsonable(after),
        prev_hash=head.hash,
    )
    event.hash = chain.link(head.hash, event_payload(event))
    event.save()
    head.seq, head.hash = event.seq, event.hash
    head.save(update_fields=["seq", "hash"])
    return event


@dataclass
class ChainReport:
    organization_id: int
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_chain_verify(*, organization_id: int) -> ChainReport:
    """Walks one organization's chain: every hash recomputed, every link and number in sequence,
    and the last row is the recorded head (an edited row, a deleted one or a cut tail all show)."""
    report = ChainReport(organization_id=organization_id)
    expected_prev, expected_seq = chain.GENESIS, 1
    rows = AuditEvent.objects.for_organization(organization_id).order_by("seq")
    for event in rows.iterator(chunk_size=2000):
        report.checked += 1
        if event.seq != expected_seq:
            report.problems.append(f"rows #{expected_seq}..#{event.seq - 1} are missing")
        if event.prev_hash != expected_prev:
            report.problems.append(f"row #{event.seq} does not follow the row before it")
        if chain.link(event.prev_hash, event_payload(event)) != event.hash:
            report.problems.append(f"row #{event.seq} was altered")
        expected_prev, expected_seq = event.hash, event.seq + 1
    head = AuditChainHead.objects.filter(organization_id=organization_id).first()
    head_seq = head.seq if head is not None else 0
    if head_seq != expected_seq - 1 or (head is not None and head.hash != expected_prev):
        report.problems.append(f"the chain ends at #{expected_seq - 1} but its head records #{head_seq}")
    return report


def audit_organizations() -> list[int]:
    heads = set(AuditChainHead.objects.values_list("organization_id", flat=True))
    return sorted(heads | set(Organization.objects.values_list("pk", flat=True)))


def _owner_of(instance: models.Model) -> int:
    """The organization whose trail an instance belongs to (an organization is its own)."""
    if isinstance(instance, Organization):
        return int(instance.pk)
    return int(instance.organization_id)  # type: ignore[attr-defined]


def _type_of(instance: models.Model) -> str:
    return instance._meta.model_name or type(instance).__name__.lower()


def audit_change(
    *, action: str, instance: models.Model, before: dict[str, Any] | None = None, after: Any = ...
) -> AuditEvent:
    """An event about one model instance: created (no `before`), changed (only the differing
    fields, from `before = snapshot(instance)` taken first), or deleted (`after=None`)."""
    organization_id = _owner_of(instance)
    after_values = snapshot(instance) if after is ... else after
    if before is not None and after_values is not None:
        before, after_values = changed(before, after_values)
    return audit_record(
        organization=organization_id,
        action=action,
        object_type=_type_of(instance),
        object_id=instance.pk if instance.pk is not None else (before or {}).get("id", ""),
        object_repr=str(instance),
        before=before,
        after=after_values,
    )


def audit_delete(*, action: str, instance: models.Model) -> AuditEvent:
    """Call before deleting: records the instance's values as `before`."""
    return audit_record(
        organization=_owner_of(instance),
        action=action,
        object_type=_type_of(instance),
        object_id=instance.pk,
        object_repr=str(instance),
        before=snapshot(instance),
        after=None,
    )


def stored_snapshot(instance: models.Model) -> dict[str, Any] | None:
    """The values of an instance as the database holds them now (a bound form may already have
    changed the instance in memory): the `before` of an update."""
    if instance.pk is None:
        return None
    stored = type(instance)._base_manager.filter(pk=instance.pk).first()
    return snapshot(stored) if stored is not None else None
