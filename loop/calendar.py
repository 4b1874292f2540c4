"""The organization's working calendar for case SLAs: working days and hours in its time zone, and its
holidays. A due time is a number of business hours after a start, counted only inside working hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization

from .models import Priority

# The defaults an organization starts with (org.settings["cases"] overrides any of them).
SLA_HOURS_DEFAULT = {Priority.URGENT: 4, Priority.HIGH: 8, Priority.NORMAL: 24, Priority.LOW: 72}
ROOT_CAUSES_DEFAULT = [
    "product_quality",
    "delivery",
    "billing",
    "staff_attitude",
    "waiting_time",
    "website_app",
    "policy",
    "other",
]
CASE_SETTING_DEFAULTS: dict[str, Any] = {
    "sla_hours": {str(key): value for key, value in SLA_HOURS_DEFAULT.items()},
    "working_days": [0, 1, 2, 3, 4],  # Monday = 0
    "work_start": "09:00",
    "work_end": "18:00",
    "holidays": [],  # ISO dates
    "root_causes": ROOT_CAUSES_DEFAULT,
}


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo
    working_days: frozenset[int]
    start: time
    end: time
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays


def case_settings(*, organization: Organization) -> dict[str, Any]:
    stored = (organization.settings or {}).get("cases") or {}
    merged = {**CASE_SETTING_DEFAULTS, **{k: v for k, v in stored.items() if k in CASE_SETTING_DEFAULTS}}
    merged["sla_hours"] = {**CASE_SETTING_DEFAULTS["sla_hours"], **(stored.get("sla_hours") or {})}
    return merged


def _parse_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(_("%(value)s is not a time of day (HH:MM).") % {"value": value})


def case_settings_clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validates a partial update of the case settings; raises ValidationError with field messages."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    unknown = sorted(set(data) - set(CASE_SETTING_DEFAULTS))
    if unknown:
        errors["non_field_errors"] = _("Unknown settings: %(names)s") % {"names": ", ".join(unknown)}
    if "sla_hours" in data:
        hours = data["sla_hours"]
        if not isinstance(hours, dict) or set(hours) - set(Priority.values):
            errors["sla_hours"] = _("Give hours per priority: urgent, high, normal, low.")
        else:
            try:
                values = {key: Decimal(str(value)) for key, value in hours.items()}
            except ArithmeticError:
                values = {}
                errors["sla_hours"] = _("Hours must be numbers.")
            if any(value <= 0 or value > 10_000 for value in values.values()):
                errors["sla_hours"] = _("Hours must be more than 0 and at most 10000.")
            cleaned["sla_hours"] = {key: float(value) for key, value in values.items()}
    if "working_days" in data:
        days = data["working_days"]
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
        ):
            errors["working_days"] = _("Working days are numbers from 0 (Monday) to 6 (Sunday).")
        else:
            cleaned["working_days"] = sorted(set(days))
    for name in ("work_start", "work_end"):
        if name in data:
            try:
                cleaned[name] = _parse_time(str(data[name])).strftime("%H:%M")
            except ValidationError as exc:
                errors[name] = exc.messages[0]
    if "work_start" in cleaned and "work_end" in cleaned and cleaned["work_start"] >= cleaned["work_end"]:
        errors["work_end"] = _("The working day must end after it starts.")
    if "holidays" in data:
        holidays = data["holidays"]
        try:
            if not isinstance(holidays, list):
                raise ValueError
            cleaned["holidays"] = sorted({date.fromisoformat(str(day)).isoformat() for day in holidays})
        except ValueError:
            errors["holidays"] = _("Holidays are a list of dates (YYYY-MM-DD).")
    if "root_causes" in data:
        causes = data["root_causes"]
        if (
            not isinstance(causes, list)
            or not causes
            or any(not isinstance(c, str) or not c.strip() or len(c) > 64 for c in causes)
        ):
            errors["root_causes"] = _("Root causes are a list of names of at most 64 characters.")
        else:
            cleaned["root_causes"] = list(dict.fromkeys(c.strip() for c in causes))
    if errors:
        raise ValidationError(errors)
    return cleaned


def work_calendar(*, organization: Organization) -> WorkCalendar:
    found = case_settings(organization=organization)
    return WorkCalendar(
        tz=organization.tzinfo,
        working_days=frozenset(int(d) for d in found["working_days"]),
        start=_parse_time(found["work_start"]),
        end=_parse_time(found["work_end"]),
        holidays=frozenset(date.fromisoformat(d) for d in found["holidays"]),
    )


def sla_hours(*, organization: Organization, priority: str) -> float:
    return float(case_settings(organization=organization)["sla_hours"].get(priority, 24))


def business_deadline(*, start: datetime, hours: float, calendar: WorkCalendar) -> datetime:
    """`start` plus `hours` of working time: only the working hours of working days that are not
    holidays count, in the calendar's time zone (a start outside hours begins at the next opening)."""
    remaining = timedelta(hours=hours)
    local = start.astimezone(calendar.tz)
    day = local.date()
    for _i in range(3660):  # ten years of days: a calendar with no working day never ends
        if calendar.is_working_day(day):
            opens = datetime.combine(day, calendar.start, tzinfo=calendar.tz)
            closes = datetime.combine(day, calendar.end, tzinfo=calendar.tz)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("the working calendar has no working hours")
