"""Alert rules: their conditions (validated here, stored as JSON on the rule), their evaluation on
recorded responses, and the test mode over the last 30 days.

Every condition is optional; those given must all hold (AND). Keys of `AlertRule.conditions`:

- `score_kind` ("nps", "csat", "ces", "rating") with `score_min` and/or `score_max` (inclusive):
  the score band, e.g. {"score_kind": "nps", "score_max": 6}
- `score_drop`: the customer's score fell by at least this many points against their previous
  response of the same score kind
- `sentiments`: the comment's sentiment is one of these ("negative", "neutral", "positive")
- `themes`: the comment mentions one of these themes (or sub-themes)
- `keywords`: the comment contains one of these words (case-insensitive)
- `survey_ids`, `touchpoint_ids`, `channels`: the response's survey, touchpoint, channel is one of these
- `customer_property`: {"name": …, "value": …}: the customer's attribute (or field such as city)
  equals the value
- `value_tiers`: the customer's value tier (metrics: "high", "medium", "low") is one of these
- `min_predicted_value`: the customer's predicted value (CLV, in the organization's currency) is at
  least this amount

Sentiment and theme come from the text analysis of the comment, which runs after the response is
recorded: while a comment's analysis is not there yet the rule is "pending" and the evaluation is
tried again later. An organization without text analytics (no analysed version) has its sentiment
and theme conditions skipped, so such a rule works on its other conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxm.tenancy.models import Organization
from feedback.models import SentimentLabel, TextAnalysis, ThemeMention
from feedback.selectors import served_version
from journeys.models import Touchpoint
from metrics.models import CustomerValue
from surveys.models import CHANNELS, SCORE_RANGES, Response, Survey

from .models import AlertRule

MATCH = "match"
NO_MATCH = "no"
PENDING = "pending"  # a sentiment/theme condition waits for the comment's analysis

VALUE_TIERS = ("high", "medium", "low")
CUSTOMER_FIELDS = ("city", "gender", "age_band", "occupation", "email", "phone", "name", "external_id")
TEST_DAYS = 30
TEST_CANDIDATES = 2000
CONDITION_KEYS = (
    "score_kind",
    "score_min",
    "score_max",
    "score_drop",
    "sentiments",
    "themes",
    "keywords",
    "survey_ids",
    "touchpoint_ids",
    "channels",
    "customer_property",
    "value_tiers",
    "min_predicted_value",
)
TEXT_KEYS = ("sentiments", "themes")


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if str(number) != str(value).strip() and not isinstance(value, int):
        return None
    return number if low <= number <= high else None


def _str_list(value: Any, *, max_items: int = 50, max_length: int = 100) -> list[str] | None:
    if not isinstance(value, list) or not value or len(value) > max_items:
        return None
    items = [str(item).strip() for item in value if isinstance(item, str | int) and str(item).strip()]
    if len(items) != len(value) or any(len(item) > max_length for item in items):
        return None
    return list(dict.fromkeys(items))


def conditions_clean(*, organization: Organization, conditions: Any) -> dict[str, Any]:
    """The stored form of a rule's conditions; raises ValidationError with a message per key."""
    if conditions in (None, ""):
        return {}
    if not isinstance(conditions, dict):
        raise ValidationError({"conditions": _("Conditions are an object of condition names and values.")})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    given = {key: value for key, value in conditions.items() if value not in (None, "", [])}
    unknown = sorted(set(given) - set(CONDITION_KEYS))
    if unknown:
        errors["conditions"] = _("Unknown conditions: %(names)s") % {"names": ", ".join(unknown)}
    kind = given.get("score_kind")
    if kind is not None:
        if not isinstance(kind, str) or kind not in SCORE_RANGES:
            errors["score_kind"] = _("Score kind is one of: %(kinds)s") % {"kinds": ", ".join(SCORE_RANGES)}
        else:
            cleaned["score_kind"] = str(kind)
    for name in ("score_min", "score_max"):
        if name in given:
            if kind is None:
                errors[name] = _("A score band needs its score kind (score_kind).")
                continue
            number = _int(given[name], 0, 10)
            if number is None:
                errors[name] = _("A score is a whole number from 0 to 10.")
            else:
                cleaned[name] = number
    if "score_min" in cleaned and "score_max" in cleaned and cleaned["score_min"] > cleaned["score_max"]:
        errors["score_max"] = _("The highest score must not be below the lowest.")
    if "score_drop" in given:
        number = _int(given["score_drop"], 1, 10)
        if number is None:
            errors["score_drop"] = _("A drop is a whole number of points from 1 to 10.")
        else:
            cleaned["score_drop"] = number
    if "sentiments" in given:
        items = _str_list(given["sentiments"])
        if items is None or set(items) - set(SentimentLabel.values):
            errors["sentiments"] = _("Sentiments are some of: negative, neutral, positive.")
        else:
            cleaned["sentiments"] = items
    for name in ("themes", "keywords"):
        if name in given:
            items = _str_list(given[name])
            if items is None:
                errors[name] = _("Give a list of words of at most 100 characters.")
            else:
                cleaned[name] = [item.lower() for item in items] if name == "keywords" else items
    if "channels" in given:
        items = _str_list(given["channels"])
        if items is None or set(items) - CHANNELS:
            errors["channels"] = _("Channels are some of: %(channels)s") % {
                "channels": ", ".join(sorted(CHANNELS))
            }
        else:
            cleaned["channels"] = items
    for name, model in (("survey_ids", Survey), ("touchpoint_ids", Touchpoint)):
        if name in given:
            raw = given[name]
            ids = [_int(item, 1, 2**62) for item in raw] if isinstance(raw, list) else [None]
            if not ids or None in ids:
                errors[name] = _("Give a list of ids.")
                continue
            found = set(
                model.objects.for_organization(organization).filter(pk__in=ids).values_list("pk", flat=True)  # type: ignore[attr-defined]
            )
            if found != set(ids):
                errors[name] = _("Unknown ids: %(ids)s") % {
                    "ids": ", ".join(str(i) for i in sorted(set(ids) - found))  # type: ignore[type-var]
                }
            else:
                cleaned[name] = sorted(found)
    if "customer_property" in given:
        prop = given["customer_property"]
        if (
            not isinstance(prop, dict)
            or not str(prop.get("name") or "").strip()
            or prop.get("value") is None
            or len(str(prop.get("name"))) > 100
            or len(str(prop.get("value"))) > 200
        ):
            errors["customer_property"] = _('Give the property as {"name": …, "value": …}.')
        else:
            cleaned["customer_property"] = {"name": str(prop["name"]).strip(), "value": str(prop["value"])}
    if "value_tiers" in given:
        items = _str_list(given["value_tiers"])
        if items is None or set(items) - set(VALUE_TIERS):
            errors["value_tiers"] = _("Value tiers are some of: high, medium, low.")
        else:
            cleaned["value_tiers"] = items
    if "min_predicted_value" in given:
        try:
            amount = Decimal(str(given["min_predicted_value"]))
            if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
                raise InvalidOperation
            cleaned["min_predicted_value"] = str(amount.quantize(Decimal("0.01")))
        except InvalidOperation:
            errors["min_predicted_value"] = _("The predicted value is an amount of at least 0.")
    if errors:
        raise ValidationError(errors)
    return cleaned


@dataclass
class Facts:
    """What the conditions read, loaded for a batch of responses in a few queries."""

    text_version: str
    previous_scores: dict[int, int | None] = field(default_factory=dict)
    values: dict[int, CustomerValue] = field(default_factory=dict)
    sentiments: dict[int, set[str]] = field(default_factory=dict)
    themes: dict[int, set[str]] = field(default_factory=dict)


def facts_load(*, organization_id: int, responses: Sequence[Response], rules: Iterable[AlertRule]) -> Facts:
    wanted = set().union(*(set(rule.conditions) for rule in rules))
    facts = Facts(
        text_version=served_version(organization=organization_id) if wanted & set(TEXT_KEYS) else ""
    )
    customer_ids = {r.customer_id for r in responses if r.customer_id}
    if customer_ids and wanted & {"value_tiers", "min_predicted_value"}:
        facts.values = {
            value.customer_id: value
            for value in CustomerValue.objects.for_organization(organization_id).filter(
                customer_id__in=customer_ids
            )
        }
    if "score_drop" in wanted:
        for response in responses:
            if response.customer_id and response.score is not None:
                facts.previous_scores[response.pk] = (
                    Response.objects.for_organization(organization_id)
                    .filter(
                        customer_id=response.customer_id,
                        score_kind=response.score_kind,
                        score__isnull=False,
                    )
                    .filter(
                        Q(submitted_at__lt=response.submitted_at)
                        | Q(submitted_at=response.submitted_at, pk__lt=response.pk)
                    )
                    .order_by("-submitted_at", "-pk")
                    .values_list("score", flat=True)
                    .first()
                )
    if facts.text_version:
        ids = [r.pk for r in responses if r.comment.strip()]
        for response_id, sentiment in (
            TextAnalysis.objects.for_organization(organization_id)
            .filter(version=facts.text_version, response_id__in=ids)
            .values_list("response_id", "sentiment")
        ):
            facts.sentiments.setdefault(response_id, set()).add(sentiment)
        for response_id, theme, subtheme in (
            ThemeMention.objects.for_organization(organization_id)
            .filter(version=facts.text_version, response_id__in=ids)
            .values_list("response_id", "theme", "subtheme")
        ):
            facts.themes.setdefault(response_id, set()).update({theme, subtheme} - {""})
    return facts


def _customer_property(response: Response, name: str) -> str | None:
    customer = response.customer
    if customer is None:
        return None
    attributes = customer.attributes or {}
    if name in attributes:
        value = attributes[name]
        return None if value is None else str(value)
    if name in CUSTOMER_FIELDS:
        return str(getattr(customer, name) or "")
    return None


def rule_evaluate(*, conditions: dict[str, Any], response: Response, facts: Facts) -> str:
    """MATCH, NO_MATCH or PENDING (only the sentiment/theme conditions can wait)."""
    c = conditions
    if "survey_ids" in c and response.survey_id not in c["survey_ids"]:
        return NO_MATCH
    if "touchpoint_ids" in c and response.touchpoint_id not in c["touchpoint_ids"]:
        return NO_MATCH
    if "channels" in c and response.channel not in c["channels"]:
        return NO_MATCH
    if "score_kind" in c and ("score_min" in c or "score_max" in c):
        if response.score_kind != c["score_kind"] or response.score is None:
            return NO_MATCH
        if response.score < c.get("score_min", 0) or response.score > c.get("score_max", 10):
            return NO_MATCH
    elif "score_kind" in c and response.score_kind != c["score_kind"]:
        return NO_MATCH
    if "score_drop" in c:
        previous = facts.previous_scores.get(response.pk)
        if previous is None or response.score is None or previous - response.score < c["score_drop"]:
            return NO_MATCH
    if "keywords" in c:
        comment = response.comment.lower()
        if not any(word in comment for word in c["keywords"]):
            return NO_MATCH
    if "customer_property" in c:
        prop = c["customer_property"]
        if _customer_property(response, prop["name"]) != prop["value"]:
            return NO_MATCH
    if "value_tiers" in c or "min_predicted_value" in c:
        value = facts.values.get(response.customer_id or 0)
        if value is None:
            return NO_MATCH
        if "value_tiers" in c and value.value_tier not in c["value_tiers"]:
            return NO_MATCH
        if "min_predicted_value" in c and (
            value.predicted_clv is None
            or Decimal(str(value.predicted_clv)) < Decimal(c["min_predicted_value"])
        ):
            return NO_MATCH
    if ("sentiments" in c or "themes" in c) and facts.text_version:
        if not response.comment.strip():
            return NO_MATCH  # no comment, no sentiment nor theme
        if response.pk not in facts.sentiments:
            return PENDING
        if "sentiments" in c and not facts.sentiments[response.pk] & set(c["sentiments"]):
            return NO_MATCH
        if "themes" in c and not facts.themes.get(response.pk, set()) & set(c["themes"]):
            return NO_MATCH
    return MATCH


def _candidates(*, organization: Organization, conditions: dict[str, Any], since: Any) -> Any:
    """The responses a rule may match, narrowed in SQL by the conditions SQL can check."""
    responses = Response.objects.for_organization(organization).filter(submitted_at__gte=since)
    c = conditions
    if "survey_ids" in c:
        responses = responses.filter(survey_id__in=c["survey_ids"])
    if "touchpoint_ids" in c:
        responses = responses.filter(touchpoint_id__in=c["touchpoint_ids"])
    if "channels" in c:
        responses = responses.filter(channel__in=c["channels"])
    if "score_kind" in c:
        responses = responses.filter(score_kind=c["score_kind"])
        if "score_min" in c:
            responses = responses.filter(score__gte=c["score_min"])
        if "score_max" in c:
            responses = responses.filter(score__lte=c["score_max"])
    if "keywords" in c:
        any_word = Q()
        for word in c["keywords"]:
            any_word |= Q(comment__icontains=word)
        responses = responses.filter(any_word)
    return responses


@dataclass
class TestResult:
    matched: list[Response]
    pending: int  # matching so far, their comment not analysed yet
    examined: int
    truncated: bool  # more candidates than were examined
    days: int = TEST_DAYS


def rule_test(*, rule: AlertRule, days: int = TEST_DAYS) -> TestResult:
    """Which of the last `days` days' responses the rule would match, without acting (no match is
    recorded, nobody is told)."""
    organization = rule.organization
    since = timezone.now() - timedelta(days=days)
    candidates = list(
        _candidates(organization=organization, conditions=rule.conditions, since=since)
        .select_related("customer", "survey", "touchpoint")
        .order_by("-submitted_at", "-pk")[: TEST_CANDIDATES + 1]
    )
    truncated = len(candidates) > TEST_CANDIDATES
    candidates = candidates[:TEST_CANDIDATES]
    facts = facts_load(organization_id=organization.pk, responses=candidates, rules=[rule])
    matched: list[Response] = []
    pending = 0
    for response in candidates:
        outcome = rule_evaluate(conditions=rule.conditions, response=response, facts=facts)
        if outcome == MATCH:
            matched.append(response)
        elif outcome == PENDING:
            pending += 1
    return TestResult(
        matched=matched, pending=pending, examined=len(candidates), truncated=truncated, days=days
    )
