"""What a recompute of the default dashboards can reuse.

The survey scores of the overview and journey come from the daily rollups, refreshed first for the
days that changed (`rollups.rollup_ensure`). The other parts cannot be derived from rollups yet; a
dashboard is reused as a whole, from its stored default snapshot, when the fingerprint of every
input it reads is the one it was computed from. The fingerprint holds the local date (the default
window moves with the calendar), the time zone, the organization's settings and currency, and per
dashboard: the responses (counted per survey, with their latest change), the versions of the
interactions, transactions and customers (moved by `customer_data_changed`), the survey and journey
configuration, and the CLV model. A dashboard without declared inputs is always recomputed.

A full rebuild (`full=True`) rebuilds the rollups and recomputes every dashboard; it must give the
same payloads (tests/metrics/test_incremental.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.utils import timezone

from cxm.core.routers import read_alias
from cxm.tenancy.models import Organization
from cxm.tenancy.selectors import organization_settings
from journeys.models import Customer, ExchangeRate, Interaction, Journey, Stage, Touchpoint, Transaction
from surveys.models import Question, Survey

from ..dashboard_selectors import current_clv_model
from ..dashboards import json_safe, registry
from ..models import RecomputePart, Snapshot
from .rollups import input_versions, rollup_ensure, rollup_rebuild

# Bump when a computation changes, so no payload computed by the old code is reused.
FORMAT = 1

# The inputs each dashboard's default view reads.
DASHBOARD_INPUTS: dict[str, tuple[str, ...]] = {
    "overview": ("responses", "config"),
    "journey": ("responses", "interactions", "config"),
    "drivers": ("responses", "config"),
    "retention": ("interactions", "transactions", "customers"),
    "value": ("responses", "interactions", "transactions", "customers", "model"),
}


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _config(organization: Organization, using: str) -> str:
    """The surveys, questions, journeys, stages and touchpoints (names, scales, order, links)."""
    parts = [
        list(Survey.objects.using(using).for_organization(organization).order_by("id").values()),
        list(Question.objects.using(using).for_organization(organization).order_by("id").values()),
        list(Journey.objects.using(using).for_organization(organization).order_by("id").values()),
        list(Stage.objects.using(using).for_organization(organization).order_by("id").values()),
        list(Touchpoint.objects.using(using).for_organization(organization).order_by("id").values()),
    ]
    return _digest(parts)


def _table(queryset: Any, changed: str | None = None) -> list[Any]:
    """How many rows, the highest id and (where the table has one) the latest change: an insert or a
    deletion moves it even when no signal told (a write through the ORM, a raw import)."""
    aggregates: dict[str, Any] = {"n": Count("id"), "last": Max("id")}
    if changed:
        aggregates["changed"] = Max(changed)
    row = queryset.aggregate(**aggregates)
    return [row["n"], row["last"], str(row.get("changed"))]


def _model(organization: Organization) -> Any:
    model = current_clv_model(organization=organization)
    return None if model is None else [model.pk, model.fitted_at.isoformat()]


class PartReuse:
    """Parts of a dashboard computed per survey (the drivers' analysis of each survey), reused while
    their inputs and the survey's responses are unchanged. Called by the builder as
    `reuse(key, inputs, compute)`; what was computed is stored by `recompute_plan_record`."""

    def __init__(
        self, organization: Organization, responses: dict[str, Any] | None, full: bool, inputs: dict[str, Any]
    ) -> None:
        self.organization = organization
        self.responses = (responses or {}).get("surveys", {})
        self.inputs = inputs
        self.full = full
        self._stored: dict[str, tuple[str, Any]] | None = None
        self.computed: dict[str, tuple[str, Any]] = {}
        self.reused: list[str] = []

    def _load(self) -> dict[str, tuple[str, Any]]:
        if self._stored is None:
            self._stored = {
                key: (fingerprint, value)
                for key, fingerprint, value in RecomputePart.objects.for_organization(self.organization)
                .filter(key__startswith="part:")
                .values_list("key", "fingerprint", "value")
            }
        return self._stored

    def __call__(self, key: str, inputs: dict[str, Any], compute: Any, depends: tuple[str, ...] = ()) -> Any:
        """`inputs` says what the part reads besides `depends` (kinds of input: "interactions", …);
        with a "survey" among them, that survey's responses count too."""
        survey = inputs.get("survey")
        fingerprint = _digest(
            {
                "format": FORMAT,
                "inputs": inputs,
                "responses": self.responses.get(str(survey)) if survey else None,
                "depends": {kind: self.inputs.get(kind) for kind in depends},
            }
        )
        stored = None if self.full else self._load().get(f"part:{key}")
        if stored is not None and stored[0] == fingerprint:
            self.reused.append(key)
            return stored[1]["value"]
        value = json_safe(compute())
        self.computed[f"part:{key}"] = (fingerprint, {"value": value})
        return value


@dataclass
class RecomputePlan:
    full: bool
    rollups: dict[str, Any]
    fingerprints: dict[str, str | None]
    reuse: tuple[str, ...] = ()
    compute: tuple[str, ...] = ()
    timings: dict[str, int] = field(default_factory=dict)
    parts: PartReuse | None = None


def recompute_plan(*, organization: Organization, full: bool = False) -> RecomputePlan:
    """Bring the rollups up to date (or rebuild them), fingerprint every dashboard's inputs, and say
    which dashboards are reused and which are computed."""
    rollups: dict[str, Any] = (
        {"mode": "rebuilt", "rows": rollup_rebuild(organization=organization)}
        if full
        else rollup_ensure(organization=organization)
    )
    versions = input_versions(organization=organization)
    using = read_alias()
    # Interactions, transactions and customers: the version `customer_data_changed` moves (an
    # update in place) and the rows themselves (what was written without a signal).
    inputs: dict[str, Any] = {"responses": versions.get("responses")}
    needed = {kind for name in registry.keys() for kind in DASHBOARD_INPUTS.get(name, ())}
    tables = {
        "interactions": lambda: _table(Interaction.objects.using(using).for_organization(organization)),
        "transactions": lambda: [
            _table(Transaction.objects.using(using).for_organization(organization)),
            list(
                ExchangeRate.objects.using(using).for_organization(organization).order_by("id").values_list()
            ),
        ],
        "customers": lambda: _table(
            Customer.objects.using(using).for_organization(organization), "updated_at"
        ),
    }
    for kind, state in tables.items():
        if kind in needed:
            inputs[kind] = [versions.get(kind, 0), state()]
    base = {
        "format": FORMAT,
        "today": timezone.localdate(timezone=organization.tzinfo).isoformat(),
        "time_zone": organization.time_zone,
        "currency": getattr(organization, "currency", ""),
        "settings": organization_settings(organization=organization),
    }
    if "config" in needed:
        inputs["config"] = _config(organization, using)
    if "model" in needed:
        inputs["model"] = _model(organization)
    fingerprints: dict[str, str | None] = {}
    for name in registry.keys():
        kinds = DASHBOARD_INPUTS.get(name)
        fingerprints[name] = (
            None if kinds is None else _digest({**base, "dashboard": name, **{k: inputs[k] for k in kinds}})
        )
    plan = RecomputePlan(
        full=full,
        rollups=rollups,
        fingerprints=fingerprints,
        parts=PartReuse(organization, inputs.get("responses"), full, inputs),
    )
    if full:
        plan.compute = registry.keys()
        return plan
    stored = dict(
        RecomputePart.objects.for_organization(organization)
        .filter(key__in=[f"dashboard:{name}" for name in fingerprints])
        .values_list("key", "fingerprint")
    )
    have = set(
        Snapshot.objects.for_organization(organization)
        .filter(filters_key="default")
        .values_list("dashboard", flat=True)
    )
    plan.reuse = tuple(
        name
        for name, fingerprint in fingerprints.items()
        if fingerprint is not None and name in have and stored.get(f"dashboard:{name}") == fingerprint
    )
    plan.compute = tuple(name for name in registry.keys() if name not in plan.reuse)
    return plan


def recompute_plan_record(*, organization: Organization, plan: RecomputePlan, computed_at: datetime) -> None:
    """Store the fingerprints of what was computed (in the recompute's transaction), and mark the
    reused snapshots as current."""
    for name in plan.compute:
        fingerprint = plan.fingerprints.get(name)
        if fingerprint is None:
            continue
        RecomputePart.objects.update_or_create(
            organization=organization,
            key=f"dashboard:{name}",
            defaults={"fingerprint": fingerprint, "computed_at": computed_at, "value": {}},
        )
    if plan.parts is not None:
        for key, (fingerprint, value) in plan.parts.computed.items():
            RecomputePart.objects.update_or_create(
                organization=organization,
                key=key,
                defaults={"fingerprint": fingerprint, "computed_at": computed_at, "value": value},
            )
    if plan.reuse:
        Snapshot.objects.for_organization(organization).filter(
            filters_key="default", dashboard__in=plan.reuse
        ).update(computed_at=computed_at)
