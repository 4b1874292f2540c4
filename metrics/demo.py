"""Demo data of the metrics layer: fit the CLV model and recompute the demo organization's dashboards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from cxm.tenancy.models import Organization

from .dashboard_selectors import current_clv_model
from .services import clv_fit, recompute_run


def seed(*, organization: Organization, stdout: Any, size: str = "full") -> None:
    """Idempotent: refits only when no model exists, and replaces the snapshots in place."""
    if current_clv_model(organization=organization) is None:
        calibration_end = timezone.localdate(timezone=organization.tzinfo) - timedelta(days=90)
        try:
            model = clv_fit(organization=organization, calibration_end=calibration_end, period="week")
            stdout.write(
                f"  metrics: CLV model fitted (r={model.r:.3f}, alpha={model.alpha:.3f}, a={model.a:.3f}, b={model.b:.3f})"
            )
        except ValueError as error:
            stdout.write(f"  metrics: no CLV model ({error})")
    # Through the run lock, so the demo's own new-data marks are cleared and no visit recomputes again.
    started = timezone.now()
    outcome = recompute_run(organization_id=organization.pk)
    elapsed = int((timezone.now() - started).total_seconds() * 1000)
    stdout.write(f"  metrics: dashboards recomputed in {elapsed} ms ({outcome})")
