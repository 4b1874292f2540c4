"""Dashboard and API filters: parsed from the query string, normalised, hashed for snapshots."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.api.limits import MAX_ID
from cxm.tenancy.models import Organization

BUCKETS = ("day", "week", "month")
SEGMENT_DIMENSIONS = ("rfm_segment", "value_tier", "lifecycle_stage")
DEFAULT_DAYS = 365
# Dates outside these bounds (a typo, a fuzzer) would overflow the previous-period arithmetic, and
# longer windows would ask the database for thousands of buckets in one query.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2100, 12, 31)
MAX_WINDOW_DAYS = 3660


class FilterError(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class MetricFilters:
    """What a dashboard or API call looks at. Dates are the organization's local calendar days
    (both ends included); None means the default window (the last 365 days)."""

    start: date | None = None
    end: date | None = None
    bucket: str = "week"
    survey: int | None = None
    touchpoint: int | None = None
    stage: int | None = None
    channel: str = ""
    locale: str = ""
    segment: str = ""

    FIELDS = ("start", "end", "bucket", "survey", "touchpoint", "stage", "channel", "locale", "segment")

    @classmethod
    def from_params(cls, params: Any) -> MetricFilters:
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}

        def parse_date(name: str) -> date | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                errors[name] = _("Enter a date as YYYY-MM-DD.")
                return None
            if not EARLIEST_DATE <= day <= LATEST_DATE:
                errors[name] = _("Enter a date between %(earliest)s and %(latest)s.") % {
                    "earliest": EARLIEST_DATE.isoformat(),
                    "latest": LATEST_DATE.isoformat(),
                }
                return None
            return day

        def parse_int(name: str) -> int | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
                errors[name] = _("Enter a whole number.")
                return None
            return int(raw)

        values["start"] = parse_date("start")
        values["end"] = parse_date("end")
        bucket = (params.get("bucket") or "week").strip()
        if bucket not in BUCKETS:
            errors["bucket"] = _("Choose day, week or month.")
            bucket = "week"
        values["bucket"] = bucket
        for name in ("survey", "touchpoint", "stage"):
            values[name] = parse_int(name)
        values["channel"] = (params.get("channel") or "").strip()[:16]
        values["locale"] = (params.get("locale") or "").strip()[:16]
        segment = (params.get("segment") or "").strip()[:64]
        if segment and (":" not in segment or segment.split(":", 1)[0] not in SEGMENT_DIMENSIONS):
            errors["segment"] = _("Use rfm_segment:NAME, value_tier:NAME or lifecycle_stage:NAME.")
            segment = ""
        values["segment"] = segment
        if values["start"] and values["end"] and values["start"] > values["end"]:
            errors["end"] = _("The end date is before the start date.")
        elif (
            values["start"]
            and ((values["end"] or timezone.localdate()) - values["start"]).days >= MAX_WINDOW_DAYS
        ):
            errors["start"] = _("Choose a window of at most 10 years.")
        if errors:
            raise FilterError(errors)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat() if self.start else None
        data["end"] = self.end.isoformat() if self.end else None
        return data

    def query_params(self) -> dict[str, str]:
        return {
            k: str(v)
            for k, v in self.as_dict().items()
            if v not in (None, "") and not (k == "bucket" and v == "week")
        }

    @property
    def key(self) -> str:
        """The snapshot key: 'default' for the default view, else a hash of the normalised filters."""
        if self == MetricFilters():
            return "default"
        blob = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:40]

    def resolved(self, organization: Organization, today: date | None = None) -> MetricFilters:
        """Concrete local dates (the default window ends today in the organization's zone)."""
        today = today or timezone.localdate(timezone=organization.tzinfo)
        end = self.end or today
        start = self.start or (end - timedelta(days=DEFAULT_DAYS - 1))
        return replace(self, start=start, end=end)

    def window(self, organization: Organization) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes: local midnight of start to local midnight after end."""
        resolved = self.resolved(organization)
        assert resolved.start is not None and resolved.end is not None
        tz = organization.tzinfo
        return (
            datetime.combine(resolved.start, time.min, tzinfo=tz),
            datetime.combine(resolved.end + timedelta(days=1), time.min, tzinfo=tz),
        )

    def previous(self, organization: Organization) -> MetricFilters:
        """The same-length window just before this one (for period-over-period tests)."""
        resolved = self.resolved(organization)
        assert resolved.start is not None and resolved.end is not None
        length = (resolved.end - resolved.start).days + 1
        return replace(
            resolved, start=resolved.start - timedelta(days=length), end=resolved.start - timedelta(days=1)
        )
