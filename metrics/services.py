"""Writes of the metrics layer: snapshots, per-customer values, the CLV model, recompute state.

Reads for a recompute go through `read_alias()` (the replica when configured); every write goes to
the primary ("default") inside one transaction, so a failed or interrupted recompute leaves the
previous snapshots in place.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from cxm.tenancy.models import Organization
from cxm.tenancy.selectors import organization_settings

from .computations import clv as clv_math
from .computations.customers import clv_predictions, customer_values
from .computations.value import customer_purchase_summary
from .dashboards import BUILDERS, DASHBOARDS, json_safe
from .filters import MetricFilters
from .models import ClvModel, CustomerValue, RecomputeState, Snapshot
from .routers import read_alias

logger = logging.getLogger(__name__)

# A run older than this is considered dead (the worker was killed); its lock can be taken over.
STALE_RUN_SECONDS = 20 * 60
# Beat runs every 15 minutes; organizations whose last run is older than this are refreshed too
# (relative windows such as "the last 365 days" move with the calendar).
REFRESH_AFTER = timedelta(hours=6)
# A recompute queued this long after its debounce and still not started is taken as lost.
QUEUED_GRACE_SECONDS = 60


def debounce_seconds() -> int:
    return int(getattr(django_settings, "METRICS_RECOMPUTE_DEBOUNCE", 30))


# --- CLV model ------------------------------------------------------------------------------------


def clv_fit(
    *,
    organization: Organization,
    calibration_end: date,
    period: str = "week",
    annual_discount_rate: float = 0.1,
) -> ClvModel:
    """Fit BG/NBD and Gamma-Gamma on purchases up to the end of `calibration_end` (local day) and store
    the parameters with their log-likelihoods and a data summary. A past `calibration_end` fits the
    model as of that date: later transactions are not read, ages and recencies are measured then."""
    if period not in clv_math.PERIOD_DAYS:
        raise ValueError(f"unknown period {period!r}")
    until = datetime.combine(calibration_end + timedelta(days=1), dtime.min, tzinfo=organization.tzinfo)
    summary = customer_purchase_summary(organization=organization, using=read_alias(), until=until)
    inputs = clv_math.rfm_inputs(summary, calibration_end=calibration_end, period=period)
    if inputs.empty:
        raise ValueError("no purchases before the calibration end")
    x, t_x, T, m = (inputs[c].to_numpy(dtype=float) for c in ("x", "t_x", "T", "monetary"))
    bgnbd = clv_math.fit_bgnbd(x, t_x, T)
    try:
        gg: clv_math.GammaGammaParams | None = clv_math.fit_gamma_gamma(x, m)
    except ValueError:
        gg = None
    repeaters = int((x > 0).sum())
    data_summary = {
        "customers": int(len(inputs)),
        "repeat_customers": repeaters,
        "mean_frequency": float(x.mean()),
        "mean_recency": float(t_x.mean()),
        "mean_age": float(T.mean()),
        "mean_repeat_spend": float(np.nanmean(m)) if repeaters else None,
        "period_days": clv_math.PERIOD_DAYS[period],
        "horizon_periods": clv_math.HORIZON_PERIODS[period],
        "annual_discount_rate": annual_discount_rate,
    }
    return ClvModel.objects.create(
        organization=organization,
        calibration_end=calibration_end,
        period=period,
        r=bgnbd.r,
        alpha=bgnbd.alpha,
        a=bgnbd.a,
        b=bgnbd.b,
        bgnbd_log_likelihood=bgnbd.log_likelihood,
        p=gg.p if gg else None,
        q=gg.q if gg else None,
        gamma=gg.gamma if gg else None,
        gamma_gamma_log_likelihood=gg.log_likelihood if gg else None,
        summary=data_summary,
    )


def clv_score(*, organization: Organization, model: ClvModel, as_of: date) -> pd.DataFrame:
    """Score every customer who had purchased by the end of `as_of` (local day) with `model`, from
    transactions up to that day only; recency and age are measured at `as_of`. Nothing is stored."""
    until = datetime.combine(as_of + timedelta(days=1), dtime.min, tzinfo=organization.tzinfo)
    summary = customer_purchase_summary(organization=organization, using=read_alias(), until=until)
    buyers = summary[summary["purchase_days"] > 0]
    if buyers.empty:
        return pd.DataFrame(columns=["customer_id", "expected_transactions", "p_alive", "predicted_clv"])
    return clv_predictions(buyers=buyers, model=model, calibration_end=as_of)


def clv_scores_payload(*, scores: pd.DataFrame, as_of: date) -> dict[str, Any]:
    """Totals of an as-of scoring (what the API and the command show beside the model)."""
    return json_safe(
        {
            "as_of": as_of.isoformat(),
            "customers": int(len(scores)),
            "expected_transactions_total": float(scores["expected_transactions"].sum()),
            "predicted_clv_total": float(scores["predicted_clv"].sum()),
            "mean_p_alive": float(scores["p_alive"].mean()) if len(scores) else None,
        }
    )


def clv_model_payload(model: ClvModel | None) -> dict[str, Any] | None:
    """The JSON the API, the command and the value dashboard show for a fitted model."""
    if model is None:
        return None
    return json_safe(
        {
            "id": model.pk,
            "fitted_at": model.fitted_at.isoformat(),
            "calibration_end": model.calibration_end.isoformat(),
            "period": model.period,
            "bgnbd": {
                "r": model.r,
                "alpha": model.alpha,
                "a": model.a,
                "b": model.b,
                "log_likelihood": model.bgnbd_log_likelihood,
            },
            "gamma_gamma": {
                "p": model.p,
                "q": model.q,
                "gamma": model.gamma,
                "log_likelihood": model.gamma_gamma_log_likelihood,
            },
            "summary": model.summary,
        }
    )


# --- Recompute ------------------------------------------------------------------------------------


def _customer_value_rows(organization: Organization, frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """The CustomerValue columns from the per-customer frame, vectorised (NaN/NaT → NULL)."""

    def ints(column: str) -> pd.Series:
        if column not in frame:
            return pd.Series(pd.NA, index=frame.index, dtype="Int64")
        return pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")

    def floats(column: str) -> pd.Series:
        values = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return values.where(np.isfinite(values))

    def stamps(column: str) -> pd.Series:
        return pd.to_datetime(frame[column], utc=True)

    def texts(column: str) -> pd.Series:
        return frame[column].fillna("").astype(str) if column in frame else pd.Series("", index=frame.index)

    return pd.DataFrame(
        {
            "organization_id": organization.pk,
            "customer_id": frame["customer_id"].astype(int),
            "first_purchase_at": stamps("first_purchase_at"),
            "last_purchase_at": stamps("last_purchase_at"),
            "purchase_count": frame["purchase_count"].fillna(0).astype(int),
            "historical_value": frame["historical_value"].astype(float).round(2),
            "recency_days": ints("recency_days"),
            "r_score": ints("r_score"),
            "f_score": ints("f_score"),
            "m_score": ints("m_score"),
            "rfm_segment": texts("rfm_segment"),
            "value_tier": texts("value_tier"),
            "lifecycle_stage": texts("lifecycle_stage"),
            "expected_transactions": floats("expected_transactions"),
            "p_alive": floats("p_alive"),
            "predicted_clv": floats("predicted_clv"),
            "transactions_left_out": frame["unconverted"].fillna(0).astype(int)
            if "unconverted" in frame
            else 0,
            "latest_nps_score": ints("latest_nps_score"),
            "latest_nps_at": stamps("latest_nps_at"),
            "computed_at": pd.Timestamp(now),
        }
    )


PreparedValues = pd.DataFrame | tuple[list[str], list[tuple[Any, ...]]]


def _customer_values_prepare(
    organization: Organization, frame: pd.DataFrame, now: datetime
) -> PreparedValues:
    """The rows to store, built before the write transaction opens, so that on SQLite (one writer at
    a time) the transaction holds only the DELETE and the INSERTs. PostgreSQL takes the frame (COPY)."""
    rows = _customer_value_rows(organization, frame, now)
    if connection.vendor == "postgresql":
        return rows
    return list(rows.columns), _insert_tuples(rows)


def _store_customer_values(organization: Organization, prepared: PreparedValues) -> None:
    """Replace the organization's per-customer values (inside the recompute's transaction)."""
    CustomerValue.objects.for_organization(organization).delete()
    if isinstance(prepared, pd.DataFrame):
        if not prepared.empty:
            _copy_customer_values(prepared)
        return
    columns, tuples = prepared
    if tuples:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {CustomerValue._meta.db_table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                tuples,
            )


def _insert_tuples(rows: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of the values Django's SQLite backend stores (UTC text for datetimes, text
    for decimals, None for missing values), converted a column at a time. 40,000 rows: well under a
    second, against ten times that through bulk_create."""
    columns: list[list[Any]] = []
    for name in rows.columns:
        column = rows[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            # As Django writes them (str() of the naive UTC value): no fraction when it is zero.
            text = (
                pd.to_datetime(column, utc=True)
                .dt.strftime("%Y-%m-%d %H:%M:%S.%f")
                .str.replace(r"\.000000$", "", regex=True)
            )
            columns.append(text.astype(object).where(column.notna(), None).tolist())
        elif name == "historical_value":
            columns.append([f"{value:.2f}" for value in column.tolist()])
        else:
            values = column.astype(object).where(column.notna(), None).tolist()
            columns.append([int(v) if isinstance(v, np.integer) else v for v in values])
    return list(zip(*columns, strict=True))


def _copy_customer_values(rows: pd.DataFrame) -> None:
    """PostgreSQL COPY: 100k rows in about a second. Columns are converted to text with numpy
    (DataFrame.to_csv formats element by element and took ten times longer)."""
    import csv
    import io

    null = "\\N"
    columns: list[list[Any]] = []
    for name in rows.columns:
        column = rows[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            utc = pd.to_datetime(column, utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
            text = np.char.add(np.datetime_as_string(utc, unit="us"), "+00:00").astype(object)
            text[np.isnat(utc)] = null
            columns.append(text.tolist())
        else:
            columns.append(
                [
                    null
                    if value is None or value is pd.NA or (isinstance(value, float) and value != value)
                    else value
                    for value in column.astype(object).tolist()
                ]
            )
    buffer = io.StringIO()
    csv.writer(buffer).writerows(zip(*columns, strict=True))
    buffer.seek(0)
    table = CustomerValue._meta.db_table
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            f"COPY {table} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
        )


def current_clv_model(*, organization: Organization) -> ClvModel | None:
    return ClvModel.objects.for_organization(organization).order_by("-fitted_at", "-id").first()


def dashboards_compute(
    *,
    organization: Organization,
    filters: MetricFilters,
    dashboards: tuple[str, ...] = DASHBOARDS,
    progress: Any = None,
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame | None, dict[str, int]]:
    """Compute the payloads (nothing is written). Reads go to `read_alias()`."""
    using = read_alias()
    now = timezone.now()
    model = current_clv_model(organization=organization)
    context: dict[str, Any] = {
        "now": now,
        "settings": organization_settings(organization=organization),
        "model": model,
        "model_payload": clv_model_payload(model),
    }
    frame = None
    payloads: dict[str, dict[str, Any]] = {}
    durations: dict[str, int] = {}
    if "value" in dashboards:
        started = time.monotonic()
        frame = customer_values(
            organization=organization, using=using, now=now, model=model, settings=context["settings"]
        )
        context["customer_values"] = frame
        durations["customer_values"] = int((time.monotonic() - started) * 1000)
    for index, name in enumerate(dashboards):
        started = time.monotonic()
        payloads[name] = json_safe(
            BUILDERS[name](organization=organization, filters=filters, using=using, context=context)
        )
        durations[name] = int((time.monotonic() - started) * 1000)
        if progress is not None:
            progress((index + 1) / len(dashboards))
    return payloads, frame, durations


def snapshots_store(
    *,
    organization: Organization,
    filters: MetricFilters,
    payloads: dict[str, dict[str, Any]],
    durations: dict[str, int],
    computed_at: datetime,
) -> None:
    for name, payload in payloads.items():
        Snapshot.objects.update_or_create(
            organization=organization,
            dashboard=name,
            filters_key=filters.key,
            defaults={
                "filters": filters.as_dict(),
                "payload": payload,
                "computed_at": computed_at,
                "duration_ms": durations.get(name, 0),
            },
        )


def dashboards_recompute(*, organization: Organization) -> dict[str, int]:
    """Recompute every dashboard's default view and the per-customer values, then replace them in
    one transaction: readers see the old snapshots until the commit, then all new ones."""
    filters = MetricFilters()
    computed_at = timezone.now()
    payloads, frame, durations = dashboards_compute(organization=organization, filters=filters)
    prepared = None if frame is None else _customer_values_prepare(organization, frame, computed_at)
    with transaction.atomic():
        if prepared is not None:
            _store_customer_values(organization, prepared)
        snapshots_store(
            organization=organization,
            filters=filters,
            payloads=payloads,
            durations=durations,
            computed_at=computed_at,
        )
        # Views under other filters were computed from older data: they are recomputed on demand.
        Snapshot.objects.for_organization(organization).exclude(filters_key="default").delete()
    return durations


def stale_signal_key(organization_id: int) -> str:
    return f"metrics:stale-signal:{organization_id}"


def recompute_mark_stale(*, organization_id: int) -> None:
    """Mark the dashboards stale without queueing anything (`METRICS_RECOMPUTE_ON_SIGNAL` off: beat,
    or without a broker the next dashboard visit, queues the recompute). One UPDATE when already known."""
    if (
        not RecomputeState.objects.for_organization(organization_id)
        .filter(stale_since__isnull=True)
        .update(stale_since=timezone.now())
    ):
        RecomputeState.objects.get_or_create(
            organization_id=organization_id, defaults={"stale_since": timezone.now()}
        )


def recompute_queue_if_due(*, organization_id: int) -> bool:
    """Without a broker there is no beat: a dashboard visit queues the recompute that is due, i.e.
    the dashboards are stale (or were not refreshed for REFRESH_AFTER) and no run is in flight or was
    queued lately (the process that queued it may have stopped). Never computes in the caller; one
    read when nothing is due. True if a recompute was queued."""
    from cxm.core import background

    if not background.enabled():
        return False
    state = RecomputeState.objects.for_organization(organization_id).first()
    now = timezone.now()
    if (
        state is None
        or state.running_since is not None
        and state.running_since > now - timedelta(seconds=STALE_RUN_SECONDS)
    ):
        return False
    due = state.stale_since is not None or (
        state.finished_at is not None and state.finished_at < now - REFRESH_AFTER
    )
    lately = now - timedelta(seconds=debounce_seconds() + QUEUED_GRACE_SECONDS)
    if not due or (state.requested_at is not None and state.requested_at > lately):
        return False
    return recompute_request(organization_id=organization_id)


def recompute_request(*, organization_id: int, force: bool = False) -> bool:
    """Mark the organization's dashboards stale and queue a debounced recompute, unless one is
    already queued within the debounce window (bursts coalesce into one run). Returns whether a
    task was queued."""
    from .tasks import recompute_organization

    now = timezone.now()
    with transaction.atomic():
        state, _created = RecomputeState.objects.select_for_update().get_or_create(
            organization_id=organization_id
        )
        if state.stale_since is None:
            state.stale_since = now
        recently = state.requested_at is not None and state.requested_at > now - timedelta(
            seconds=debounce_seconds()
        )
        if recently and not force:
            state.save(update_fields=["stale_since"])
            return False
        state.requested_at = now
        state.save(update_fields=["stale_since", "requested_at"])
    countdown = 0 if force else debounce_seconds()  # "Recompute now" does not wait for a burst
    transaction.on_commit(
        lambda: recompute_organization.apply_async(
            args=[organization_id], countdown=countdown, ignore_result=True
        ),
        robust=True,  # broker down: the state stays stale and beat's sweep queues it later
    )
    return True


def recompute_claim(*, organization_id: int) -> str | None:
    """Take the per-organization run lock (a row lock, then a token on the row). None when another
    run is in flight: one recompute per organization at a time."""
    now = timezone.now()
    with transaction.atomic():
        state, _created = RecomputeState.objects.select_for_update().get_or_create(
            organization_id=organization_id
        )
        if state.running_since is not None and state.running_since > now - timedelta(
            seconds=STALE_RUN_SECONDS
        ):
            return None
        token = uuid.uuid4().hex
        # Data arriving from now on is not in this run: let its signal mark the dashboards stale again.
        cache.delete(stale_signal_key(organization_id))
        state.running_since = now
        state.run_token = token
        state.stale_since = None
        state.requested_at = None
        state.save(update_fields=["running_since", "run_token", "stale_since", "requested_at"])
    return token


def recompute_release(*, organization_id: int, token: str, duration_ms: int, error: str = "") -> bool:
    """Release the lock; returns True when new data arrived during the run (a follow-up is due)."""
    with transaction.atomic():
        state = RecomputeState.objects.for_organization(organization_id).select_for_update().get()
        if state.run_token != token:
            return False
        state.running_since = None
        state.run_token = ""
        state.finished_at = timezone.now()
        state.last_duration_ms = duration_ms
        state.last_error = error[:2000]
        state.runs += 1
        if error:
            state.stale_since = state.stale_since or timezone.now()
        state.save()
        return state.stale_since is not None and not error


def recompute_run(*, organization_id: int) -> str:
    """One guarded recompute: claim, compute, store, release. Returns "done", "busy" or "failed"."""
    token = recompute_claim(organization_id=organization_id)
    if token is None:
        return "busy"
    started = time.monotonic()
    try:
        organization = Organization.objects.get(pk=organization_id)
        dashboards_recompute(organization=organization)
    except Exception as exc:
        recompute_release(
            organization_id=organization_id,
            token=token,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=repr(exc),
        )
        raise
    follow_up = recompute_release(
        organization_id=organization_id, token=token, duration_ms=int((time.monotonic() - started) * 1000)
    )
    if follow_up:
        recompute_request(organization_id=organization_id)
    return "done"


def snapshot_compute(*, organization: Organization, dashboard: str, filters: MetricFilters) -> Snapshot:
    """Compute and store one dashboard under non-default filters (on demand)."""
    computed_at = timezone.now()
    payloads, _frame, durations = dashboards_compute(
        organization=organization, filters=filters, dashboards=(dashboard,)
    )
    with transaction.atomic():
        snapshots_store(
            organization=organization,
            filters=filters,
            payloads=payloads,
            durations=durations,
            computed_at=computed_at,
        )
    return Snapshot.objects.for_organization(organization).get(dashboard=dashboard, filters_key=filters.key)
