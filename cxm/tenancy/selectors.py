from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from .models import ApiKey, Membership, Organization

# Organization settings and their documented defaults (METRICS.md, surveys' fatigue rule).
SETTING_DEFAULTS: dict[str, Any] = {
    "activity_window_days": 90,
    "churn_window_days": 180,
    "new_customer_days": 30,
    "at_risk_p_alive": 0.5,
    "monetized_nps_days": 180,
    "survey_fatigue_days": 30,
}


def organization_setting(*, organization: Organization, name: str) -> Any:
    if name not in SETTING_DEFAULTS:
        raise KeyError(f"unknown organization setting {name!r}")
    return (organization.settings or {}).get(name, SETTING_DEFAULTS[name])


def organization_settings(*, organization: Organization) -> dict[str, Any]:
    return {name: organization_setting(organization=organization, name=name) for name in SETTING_DEFAULTS}


def memberships_for_user(*, user: User | AnonymousUser) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.unscoped()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def membership_for(*, user: User | AnonymousUser, organization: Organization) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.for_organization(organization).filter(user=user).first()


def api_keys_for_organization(*, organization: Organization) -> list[ApiKey]:
    return list(ApiKey.objects.for_organization(organization).select_related("created_by"))
