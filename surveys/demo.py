"""Demo data: NPS, CSAT and CES surveys in English and Chinese with a year of responses.

Scores follow the customers' order behaviour (loyal buyers lean to promoters, churners to
detractors). Idempotent: surveys are found by name, responses by their idempotency keys.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from cxm.tenancy.models import Organization
from journeys.models import Channel, Customer, Touchpoint

from . import services
from .models import Answer, QuestionKind, Response, Survey, SurveyStatus

TOUCHPOINTS = {
    "web-checkout": ("Web checkout", Channel.WEBSITE),
    "store-checkout": ("Store checkout", Channel.STORE),
    "home-delivery": ("Home delivery", Channel.EMAIL),
    "phone-support": ("Phone support", Channel.PHONE),
    "chat-support": ("Chat support", Channel.CHAT),
}
# (name, template, touchpoint key, response channel, share of responses)
SURVEYS = [
    ("Relationship NPS", "nps", None, "email", 0.22),
    ("Order NPS · web checkout", "nps", "web-checkout", "widget", 0.18),
    ("Order NPS · store", "nps", "store-checkout", "qr", 0.10),
    ("Delivery CSAT", "csat", "home-delivery", "email", 0.16),
    ("Checkout CSAT", "csat", "web-checkout", "widget", 0.12),
    ("Phone support CES", "ces", "phone-support", "link", 0.12),
    ("Chat support CES", "ces", "chat-support", "widget", 0.10),
]
COMMENTS = {
    "low": {
        "en": [
            "The parcel arrived two days late.",
            "Support kept me waiting for 40 minutes.",
            "The size guide was wrong, had to return it.",
            "Checkout failed twice with my card.",
            "Prices went up and quality went down.",
            "Nobody answered my email about the refund.",
        ],
        "zh-hans": [
            "快递晚了两天才到。",
            "客服让我等了四十分钟。",
            "尺码表不准，只好退货。",
            "付款失败了两次。",
            "价格涨了，质量却下降了。",
            "退款的邮件一直没人回复。",
        ],
    },
    "mid": {
        "en": [
            "Fine overall, delivery could be faster.",
            "Good products, the app is a bit slow.",
            "OK, but the packaging was damaged.",
        ],
        "zh-hans": ["总体还行，配送可以再快一点。", "商品不错，App 有点卡。", "还可以，但包装有破损。"],
    },
    "high": {
        "en": [
            "Fast delivery and great quality!",
            "The staff in the store were very helpful.",
            "Easy returns, I will buy again.",
            "Love the 618 deals.",
        ],
        "zh-hans": ["发货快，质量好！", "门店店员非常热情。", "退换货很方便，还会再买。", "618 活动很划算。"],
    },
}
FIRST_EN = ["Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas"]
LAST_EN = ["Smith", "Brown", "Wilson", "Taylor", "Lee", "Martin"]
NAMES_ZH = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "黄强", "周杰", "吴芳"]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Singapore"]


def _ensure_touchpoints(organization: Organization) -> dict[str, Touchpoint]:
    found = {}
    for position, (key, (name, channel)) in enumerate(TOUCHPOINTS.items()):
        found[key], _created = Touchpoint.objects.get_or_create(
            organization=organization,
            key=key,
            defaults={"name": name, "channel": channel, "position": position},
        )
    return found


def _ensure_customers(organization: Organization, count: int, rng: random.Random) -> None:
    if Customer.objects.filter(organization=organization).exists():
        return
    now = timezone.now()
    rows = []
    for i in range(1, count + 1):
        chinese = rng.random() < 0.6
        name = rng.choice(NAMES_ZH) if chinese else f"{rng.choice(FIRST_EN)} {rng.choice(LAST_EN)}"
        rows.append(
            Customer(
                organization=organization,
                external_id=f"C{i:05d}",
                name=name,
                email=f"c{i:05d}@example.com",
                city=rng.choice(CITIES),
                first_seen_at=now - timedelta(days=rng.randint(30, 700)),
                attributes={"demo_segment": rng.choice(["loyal", "regular", "regular", "churner"])},
            )
        )
    Customer.objects.bulk_create(rows, batch_size=1000)


def _segment(customer: Any, now: Any) -> str:
    orders = getattr(customer, "order_count", 0) or 0
    last = getattr(customer, "last_order", None)
    if orders == 0:
        return (customer.attributes or {}).get("demo_segment", "regular")
    if last is not None and (now - last).days > 180:
        return "churner"
    return "loyal" if orders >= 4 else "regular"


def _score(kind: str, segment: str, rng: random.Random, low: int, high: int) -> int:
    # Position on the scale (0 = worst, 1 = best), by segment.
    mean = {"loyal": 0.85, "regular": 0.68, "churner": 0.38}[segment]
    x = min(1.0, max(0.0, rng.gauss(mean, 0.22)))
    return low + round(x * (high - low))


def _band(kind: str, score: int) -> str:
    if kind == QuestionKind.NPS:
        return "low" if score <= 6 else ("mid" if score <= 8 else "high")
    if kind == QuestionKind.CES:
        return "low" if score <= 3 else ("mid" if score <= 5 else "high")
    return "low" if score <= 2 else ("mid" if score == 3 else "high")


def seed(*, organization: Organization, stdout: Any, size: str = "full") -> None:
    rng = random.Random(20261122)
    total = 8000 if size == "full" else 300
    touchpoints = _ensure_touchpoints(organization)
    _ensure_customers(organization, 3000 if size == "full" else 120, rng)
    surveys: list[tuple[Survey, str, float]] = []
    for name, template, tp_key, channel, share in SURVEYS:
        survey = Survey.objects.filter(organization=organization, name=name).first()
        if survey is None:
            survey = services.survey_create_from_template(
                organization=organization,
                template=template,
                name=name,
                touchpoint=touchpoints[tp_key] if tp_key else None,
            )
            # The server's own origin (`make run PORT=…` passes the port), by address and by name.
            site = settings.SITE_URL
            origins = list(dict.fromkeys([site, site.replace("://127.0.0.1:", "://localhost:")]))
            services.survey_update(survey=survey, allowed_origins=origins)
        if survey.status != SurveyStatus.ACTIVE:
            services.survey_set_status(survey=survey, action="activate")
        surveys.append((survey, channel, share))
    if Response.objects.filter(organization=organization, idempotency_key__startswith="demo-").exists():
        stdout.write("surveys: demo responses already present")
        return

    now = timezone.now()
    customers = list(
        Customer.objects.filter(organization=organization).annotate(
            order_count=Count("transactions", filter=Q(transactions__amount__gt=0)),
            last_order=Max("transactions__occurred_at"),
        )
    )
    if not customers:
        return
    weights = [2.0 if getattr(c, "order_count", 0) >= 4 else 1.0 for c in customers]
    responses: list[Response] = []
    answers: list[tuple[int, int, int | None, str]] = []  # (response index, question id, number, text)
    index = 0
    for survey, channel, share in surveys:
        questions = list(survey.questions.order_by("position"))
        primary = questions[0]
        low, high = primary.score_range() or (0, 10)
        n = round(total * share)
        for customer in rng.choices(customers, weights=weights, k=n):
            segment = _segment(customer, now)
            score = _score(primary.kind, segment, rng, low, high)
            chinese = any("\u4e00" <= ch <= "\u9fff" for ch in customer.name)
            locale = "zh-hans" if chinese else "en"
            # A customer answers only after the business first met them.
            known_days = (now - customer.first_seen_at).days if customer.first_seen_at else 364
            age_days = rng.betavariate(1.2, 1.6) * max(1, min(364, known_days))
            submitted = now - timedelta(days=age_days, minutes=rng.randint(0, 1440))
            if customer.last_order and segment != "churner" and survey.touchpoint_id and rng.random() < 0.5:
                submitted = min(now, customer.last_order + timedelta(days=rng.randint(1, 3)))
            comment = ""
            follow_up = next(
                (
                    q
                    for q in questions[1:]
                    if not q.show_if or q.show_if.get("min", 0) <= score <= q.show_if.get("max", 10)
                ),
                None,
            )
            if follow_up is not None and rng.random() < 0.4:
                comment = rng.choice(COMMENTS[_band(primary.kind, score)][locale])
            responses.append(
                Response(
                    organization=organization,
                    survey=survey,
                    customer=customer,
                    touchpoint=survey.touchpoint,
                    channel=channel,
                    locale=locale,
                    idempotency_key=f"demo-{index}",
                    score_kind=primary.kind,
                    score=score,
                    comment=comment,
                    submitted_at=submitted,
                )
            )
            answers.append((index, primary.id, score, ""))
            if comment and follow_up is not None:
                answers.append((index, follow_up.id, None, comment))
            index += 1
    with transaction.atomic():
        Response.objects.bulk_create(responses, batch_size=1000)
        Answer.objects.bulk_create(
            [
                Answer(
                    organization=organization,
                    response_id=responses[i].id,
                    question_id=qid,
                    number=number,
                    text=text,
                )
                for i, qid, number, text in answers
            ],
            batch_size=2000,
        )
    stdout.write(f"surveys: {len(surveys)} surveys, {len(responses)} responses")
