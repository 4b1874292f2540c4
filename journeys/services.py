"""Writes of the journeys app: customers, journeys, stages, touchpoints, privacy requests."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.audit.services import audit_change, audit_delete, audit_record, stored_snapshot
from cxm.tenancy.models import Organization

from .ingest import IngestResult, notify_customer_data_changed, records_ingest
from .models import Channel, Customer, ExchangeRate, Interaction, Journey, Stage, Touchpoint, Transaction
from .signals import customer_erased

ERASED_PREFIX = "erased-"


# --- Exchange rates ----------------------------------------------------------------------------


def exchange_rate_set(
    *, organization: Organization, currency: str, effective_from: date, rate: Decimal
) -> ExchangeRate:
    """Set the organization's rate for `currency` from `effective_from` (one per currency and day:
    setting it again replaces it). Rate = units of the organization's currency per unit of `currency`."""
    code = currency.strip().upper()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Z]{3}", code):
        errors["currency"] = [_("Currency must be a 3-letter ISO 4217 code.")]
    elif code == organization.currency.upper():
        errors["currency"] = [_("This is the organization's own currency; it needs no rate.")]
    if not rate > 0:
        errors["rate"] = [_("The rate must be greater than zero.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        exchange_rate, _created = ExchangeRate.objects.update_or_create(
            organization=organization, currency=code, effective_from=effective_from, defaults={"rate": rate}
        )
        audit_change(action="settings.exchange_rate_set", instance=exchange_rate)
    notify_customer_data_changed(organization_id=organization.pk, kind="transactions")
    return exchange_rate


# --- Customers -------------------------------------------------------------------------------


def customer_upsert(*, organization: Organization, data: dict[str, Any]) -> tuple[Customer, bool]:
    """Creates or updates one customer by external id (the same rules as the bulk endpoint)."""
    result = records_ingest(organization=organization, kind="customers", records=[data])
    if result.errors:
        error = result.errors[0]
        raise ValidationError({error["field"] or "non_field_errors": [error["reason"]]})
    customer = Customer.objects.for_organization(organization).get(
        external_id=str(data["external_id"]).strip()
    )
    return customer, result.created == 1


def customers_bulk_upsert(*, organization: Organization, records: Sequence[Any]) -> IngestResult:
    return records_ingest(organization=organization, kind="customers", records=records)


def interactions_bulk_ingest(*, organization: Organization, records: Sequence[Any]) -> IngestResult:
    return records_ingest(organization=organization, kind="interactions", records=records)


def transactions_bulk_ingest(*, organization: Organization, records: Sequence[Any]) -> IngestResult:
    return records_ingest(organization=organization, kind="transactions", records=records)


def customer_reference_parse(reference: Any) -> tuple[dict[str, Any], str, str]:
    """A customer named by a caller (an external id, or {"id", "email", "name", "properties"}) as
    (the reference as an object, its external id, its email); ValidationError for a bad shape."""
    if isinstance(reference, str | int) and not isinstance(reference, bool):
        reference = {"id": str(reference)}
    if not isinstance(reference, dict):
        raise ValidationError({"customer": _("Give the customer as an object with id and/or email.")})
    external_id = str(reference.get("id") or "").strip()[:255]
    email = str(reference.get("email") or "").strip()[:254]
    if email and "@" not in email:
        raise ValidationError({"customer": _("The customer's email is not valid.")})
    return reference, external_id, email


def customer_resolve(*, organization_id: int, reference: Any) -> Customer | None:
    """A customer by external id (created when unknown) or by email (never created), for an answer
    or an event that names one. The reference must be trusted: an integrator's (API key), or a
    public caller's signed one (`surveys.collection.rules.customer_reference_signed`)."""
    if reference in (None, "", {}):
        return None
    reference, external_id, email = customer_reference_parse(reference)
    customers = Customer.objects.for_organization(organization_id)
    if external_id:
        customer = customers.filter(external_id=external_id).first()
        if customer is not None:
            return customer
        properties = reference.get("properties")
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    organization_id=organization_id,
                    external_id=external_id,
                    email=email,
                    name=str(reference.get("name") or "")[:255],
                    attributes=properties if isinstance(properties, dict) else {},
                    first_seen_at=timezone.now(),
                )
        except IntegrityError:
            return customers.get(external_id=external_id)
    if email:
        return customers.filter(email__iexact=email).order_by("id").first()
    return None


@transaction.atomic
def customer_delete(*, customer: Customer) -> None:
    """Deletes a customer with their interactions and orders (responses stay, unlinked)."""
    organization_id, customer_id = customer.organization_id, customer.pk
    audit_record(
        organization=organization_id,
        action="customer.delete",
        object_type="customer",
        object_id=customer_id,
        before={"external_id": customer.external_id},
    )
    customer.delete()
    notify_customer_data_changed(
        organization_id=organization_id, kind="customers", customer_ids=[customer_id]
    )


@transaction.atomic
def customer_erase(*, customer: Customer) -> Customer:
    """Erases a customer's personal data (a privacy request) but keeps what aggregates need.

    Name, contact details, demographics and free attributes are removed, the external id becomes an
    opaque token (so the organization's id for the person no longer resolves), and the properties of
    their interactions and orders are cleared. Their interactions, orders and survey responses stay,
    linked to the anonymous record, so scores, retention and revenue figures do not change.
    """
    customer = (
        Customer.objects.for_organization(customer.organization_id).select_for_update().get(pk=customer.pk)
    )
    if customer.erased_at is not None:
        return customer
    now = timezone.now()
    customer.external_id = ERASED_PREFIX + secrets.token_hex(12)
    for name in ("email", "phone", "name", "age_band", "gender", "city", "occupation"):
        setattr(customer, name, "")
    customer.attributes = {}
    customer.unsubscribed = True
    customer.unsubscribed_at = customer.unsubscribed_at or now
    customer.erased_at = now
    customer.save()
    # The erased values are not copied into the trail: that would keep what the erasure removes.
    audit_record(
        organization=customer.organization_id,
        action="customer.erase",
        object_type="customer",
        object_id=customer.pk,
        after={"erased_at": now, "external_id": customer.external_id},
    )
    Interaction.objects.for_organization(customer.organization_id).filter(customer=customer).update(
        properties={}, external_id=None
    )
    Transaction.objects.for_organization(customer.organization_id).filter(customer=customer).update(
        properties={}
    )
    organization_id, customer_id = customer.organization_id, customer.pk
    notify_customer_data_changed(
        organization_id=organization_id, kind="customers", customer_ids=[customer_id]
    )
    transaction.on_commit(
        lambda: customer_erased.send(
            sender=Customer, organization_id=organization_id, customer_id=customer_id
        )
    )
    return customer


# --- Journeys, stages, touchpoints ----------------------------------------------------------


@transaction.atomic
def journey_create(*, organization: Organization, name: str, description: str = "") -> Journey:
    if not name.strip():
        raise ValidationError({"name": [_("A journey needs a name.")]})
    journey = Journey.objects.create(organization=organization, name=name.strip(), description=description)
    audit_change(action="journey.create", instance=journey)
    return journey


@transaction.atomic
def journey_update(*, journey: Journey, **fields: Any) -> Journey:
    before = stored_snapshot(journey)
    for name in ("name", "description"):
        if name in fields:
            setattr(journey, name, fields[name])
    if not journey.name.strip():
        raise ValidationError({"name": [_("A journey needs a name.")]})
    journey.save()
    audit_change(action="journey.update", instance=journey, before=before)
    return journey


@transaction.atomic
def journey_delete(*, journey: Journey) -> None:
    audit_delete(action="journey.delete", instance=journey)
    journey.delete()


def _next_position(queryset: Any) -> int:
    current = queryset.aggregate(m=Max("position"))["m"]
    return 0 if current is None else current + 1


@transaction.atomic
def stage_create(*, journey: Journey, name: str, position: int | None = None) -> Stage:
    if not name.strip():
        raise ValidationError({"name": [_("A stage needs a name.")]})
    siblings = (
        Stage.objects.for_organization(journey.organization_id).select_for_update().filter(journey=journey)
    )
    stage = Stage.objects.create(
        organization_id=journey.organization_id,
        journey=journey,
        name=name.strip(),
        position=_next_position(siblings),
    )
    if position is not None:
        ids = [
            pk for pk in siblings.order_by("position", "id").values_list("id", flat=True) if pk != stage.pk
        ]
        ids.insert(max(0, min(position, len(ids))), stage.pk)
        stages_reorder(journey=journey, stage_ids=ids)
        stage.refresh_from_db()
    audit_change(action="stage.create", instance=stage)
    return stage


@transaction.atomic
def stage_update(*, stage: Stage, name: str) -> Stage:
    if not name.strip():
        raise ValidationError({"name": [_("A stage needs a name.")]})
    before = stored_snapshot(stage)
    stage.name = name.strip()
    stage.save(update_fields=["name"])
    audit_change(action="stage.update", instance=stage, before=before)
    return stage


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    """Deletes a stage; its touchpoints stay (without a stage) so their surveys and history survive."""
    journey = stage.journey
    audit_delete(action="stage.delete", instance=stage)
    stage.delete()
    stages_reorder(
        journey=journey,
        stage_ids=list(
            Stage.objects.for_organization(journey.organization_id)
            .filter(journey=journey)
            .order_by("position", "id")
            .values_list("id", flat=True)
        ),
    )


@transaction.atomic
def stages_reorder(*, journey: Journey, stage_ids: Sequence[int]) -> list[Stage]:
    """Sets the order of a journey's stages; `stage_ids` must list each of them exactly once."""
    stages = {
        s.pk: s
        for s in Stage.objects.for_organization(journey.organization_id)
        .select_for_update()
        .filter(journey=journey)
    }
    ids = [int(pk) for pk in stage_ids]
    if sorted(ids) != sorted(stages):
        raise ValidationError({"order": [_("List every stage of this journey exactly once.")]})
    before = [s.pk for s in sorted(stages.values(), key=lambda s: (s.position, s.pk))]
    for position, pk in enumerate(ids):
        stages[pk].position = position
    Stage.objects.bulk_update(list(stages.values()), ["position"])
    if before != ids:
        audit_record(
            organization=journey.organization_id,
            action="stage.reorder",
            object_type="journey",
            object_id=journey.pk,
            object_repr=str(journey),
            before={"stages": before},
            after={"stages": ids},
        )
    return [stages[pk] for pk in ids]


def stage_move(*, stage: Stage, offset: int) -> None:
    ids = list(
        Stage.objects.for_organization(stage.organization_id)
        .filter(journey_id=stage.journey_id)
        .order_by("position", "id")
        .values_list("id", flat=True)
    )
    index = ids.index(stage.pk)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    stages_reorder(journey=stage.journey, stage_ids=ids)


def _validate_touchpoint(touchpoint: Touchpoint) -> None:
    errors: dict[str, list[str]] = {}
    if not touchpoint.name.strip():
        errors["name"] = [_("A touchpoint needs a name.")]
    if touchpoint.channel not in Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    try:
        Touchpoint._meta.get_field("key").run_validators(touchpoint.key)
        if not touchpoint.key:
            raise ValidationError(_("A touchpoint needs a key."))
    except ValidationError as exc:
        errors["key"] = exc.messages
    taken = (
        Touchpoint.objects.for_organization(touchpoint.organization_id)
        .filter(key=touchpoint.key)
        .exclude(pk=touchpoint.pk)
        .exists()
    )
    if taken:
        errors["key"] = [_("Another touchpoint already uses this key.")]
    if touchpoint.stage is not None and touchpoint.stage.organization_id != touchpoint.organization_id:
        errors["stage"] = [_("Unknown stage.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def touchpoint_create(
    *,
    organization: Organization,
    name: str,
    key: str,
    stage: Stage | None = None,
    channel: str = Channel.OTHER,
    description: str = "",
    owner: str = "",
) -> Touchpoint:
    touchpoint = Touchpoint(
        organization=organization,
        stage=stage,
        name=name.strip(),
        key=key.strip(),
        channel=channel,
        description=description,
        owner=owner,
    )
    _validate_touchpoint(touchpoint)
    if stage is not None:
        touchpoint.position = _next_position(
            Touchpoint.objects.for_organization(stage.organization_id).filter(stage=stage)
        )
    touchpoint.save()
    audit_change(action="touchpoint.create", instance=touchpoint)
    return touchpoint


@transaction.atomic
def touchpoint_update(*, touchpoint: Touchpoint, **fields: Any) -> Touchpoint:
    before = stored_snapshot(touchpoint)
    old_stage_id = before["stage_id"] if before is not None else touchpoint.stage_id
    for name in ("name", "key", "channel", "description", "owner", "stage"):
        if name in fields:
            setattr(touchpoint, name, fields[name].strip() if name in ("name", "key") else fields[name])
    _validate_touchpoint(touchpoint)
    if touchpoint.stage_id != old_stage_id and touchpoint.stage is not None:
        touchpoint.position = _next_position(
            Touchpoint.objects.for_organization(touchpoint.organization_id).filter(stage=touchpoint.stage)
        )
    touchpoint.save()
    audit_change(action="touchpoint.update", instance=touchpoint, before=before)
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, touchpoint: Touchpoint) -> None:
    audit_delete(action="touchpoint.delete", instance=touchpoint)
    touchpoint.delete()


@transaction.atomic
def touchpoints_reorder(*, stage: Stage, touchpoint_ids: Sequence[int]) -> list[Touchpoint]:
    """Puts the listed touchpoints in this stage, in this order (moving them from other stages if needed)."""
    ids = [int(pk) for pk in touchpoint_ids]
    touchpoints = {
        t.pk: t
        for t in Touchpoint.objects.for_organization(stage.organization_id)
        .select_for_update()
        .filter(pk__in=ids)
    }
    current = set(
        Touchpoint.objects.for_organization(stage.organization_id)
        .filter(stage=stage)
        .values_list("id", flat=True)
    )
    if len(set(ids)) != len(ids) or set(ids) != set(touchpoints) or not current <= set(ids):
        raise ValidationError(
            {"order": [_("List every touchpoint of this stage exactly once (others may be moved in).")]}
        )
    for position, pk in enumerate(ids):
        touchpoints[pk].position = position
        touchpoints[pk].stage = stage
    Touchpoint.objects.bulk_update(list(touchpoints.values()), ["position", "stage"])
    audit_record(
        organization=stage.organization_id,
        action="touchpoint.reorder",
        object_type="stage",
        object_id=stage.pk,
        object_repr=str(stage),
        after={"touchpoints": ids},
    )
    return [touchpoints[pk] for pk in ids]


def touchpoint_move(*, touchpoint: Touchpoint, offset: int) -> None:
    if touchpoint.stage is None:
        return
    ids = list(
        Touchpoint.objects.for_organization(touchpoint.organization_id)
        .filter(stage=touchpoint.stage)
        .order_by("position", "id")
        .values_list("id", flat=True)
    )
    index = ids.index(touchpoint.pk)
    target = max(0, min(len(ids) - 1, index + offset))
    ids.insert(target, ids.pop(index))
    touchpoints_reorder(stage=touchpoint.stage, touchpoint_ids=ids)
