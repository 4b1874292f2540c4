"""Builders for metrics tests: small hand-made rows (the factories, with positional shorthands), and
a seeded realistic dataset for pages (bulk-inserted, in the shape the recompute and dashboards read)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from journeys.models import Customer, Interaction, Journey, Stage, Touchpoint, Transaction
from surveys.models import Answer, Question, Response, Survey
from tests.journeys.factories import CustomerFactory, TransactionFactory
from tests.surveys.factories import ResponseFactory, SurveyFactory


def customer(org: Any, **kw: Any) -> Customer:
    """A bare customer: an external id and nothing else unless given."""
    return CustomerFactory(organization=org, **{"name": "", "email": "", **kw})


def survey(org: Any, name: str = "NPS", touchpoint: Touchpoint | None = None) -> Survey:
    return SurveyFactory(organization=org, name=name, touchpoint=touchpoint)


def response(
    org: Any, srv: Survey, kind: str, score: int | None, at: datetime, cust: Customer | None = None, **kw: Any
) -> Response:
    return ResponseFactory(
        organization=org, survey=srv, customer=cust, score_kind=kind, score=score, submitted_at=at, **kw
    )


def order(org: Any, cust: Customer, at: datetime, amount: str | float) -> Transaction:
    return TransactionFactory(organization=org, customer=cust, occurred_at=at, amount=Decimal(str(amount)))


STAGES = [
    (
        "Discover",
        [("website-browse", "Website browse", "website"), ("app-browse", "App browse", "mobile_app")],
    ),
    ("Buy", [("web-checkout", "Web checkout", "website"), ("store-checkout", "Store checkout", "store")]),
    ("Delivery", [("home-delivery", "Home delivery", "email")]),
    ("Support", [("phone-support", "Phone support", "phone"), ("chat-support", "Chat support", "chat")]),
]


def seed_dataset(
    org: Any, customers: int = 120, seed: int = 3, now: datetime | None = None
) -> dict[str, Any]:
    """A year of orders, interactions and NPS/CSAT/CES responses (with driver answers and comments)."""
    rng = random.Random(seed)
    now = now or timezone.now()
    journey = Journey.objects.create(organization=org, name="Retail journey")
    touchpoints: dict[str, Touchpoint] = {}
    for position, (stage_name, tps) in enumerate(STAGES):
        stage = Stage.objects.create(organization=org, journey=journey, name=stage_name, position=position)
        for tp_pos, (key, name, channel) in enumerate(tps):
            touchpoints[key] = Touchpoint.objects.create(
                organization=org, stage=stage, key=key, name=name, channel=channel, position=tp_pos
            )
    nps_survey = survey(org, "Relationship NPS")
    q_nps = Question.objects.create(
        organization=org, survey=nps_survey, position=0, kind="nps", text={"en": "Recommend?"}
    )
    q_price = Question.objects.create(
        organization=org, survey=nps_survey, position=1, kind="rating", text={"en": "Price"}
    )
    q_quality = Question.objects.create(
        organization=org, survey=nps_survey, position=2, kind="csat", text={"en": "Quality"}
    )
    csat_survey = survey(org, "Delivery CSAT", touchpoints["home-delivery"])
    ces_survey = survey(org, "Support CES", touchpoints["phone-support"])
    custs, txs, inters, answers = [], [], [], []
    for i in range(customers):
        custs.append(
            Customer(
                organization=org,
                external_id=f"S{i:05d}",
                name=f"Customer {i}",
                created_at=now - timedelta(days=400),
            )
        )
    Customer.objects.bulk_create(custs)
    custs = list(Customer.objects.unscoped().filter(organization=org).order_by("id"))
    for i, cust in enumerate(custs):
        loyalty = rng.random()
        n_orders = 0 if i % 10 == 0 else 1 + int(loyalty * 8)
        for _ in range(n_orders):
            at = now - timedelta(days=rng.uniform(0, 360), hours=rng.uniform(0, 23))
            txs.append(
                Transaction(
                    organization=org,
                    customer=cust,
                    order_id=f"S{i}-{len(txs)}",
                    occurred_at=at,
                    amount=Decimal(str(round(rng.uniform(20, 300), 2))),
                )
            )
        if n_orders and rng.random() < 0.1:
            txs.append(
                Transaction(
                    organization=org,
                    customer=cust,
                    order_id=f"S{i}-r{len(txs)}",
                    occurred_at=now - timedelta(days=5),
                    amount=Decimal("-25.00"),
                )
            )
        for key in rng.sample(list(touchpoints), 3):
            inters.append(
                Interaction(
                    organization=org,
                    customer=cust,
                    touchpoint=touchpoints[key],
                    occurred_at=now - timedelta(days=rng.uniform(0, 360)),
                )
            )
        base = 4 + loyalty * 6
        for _ in range(1 + int(loyalty * 2)):
            at = now - timedelta(days=rng.uniform(0, 360))
            quality = max(1, min(5, round(1 + loyalty * 4 + rng.gauss(0, 0.5))))
            price = max(1, min(5, round(3 + rng.gauss(0, 1))))
            score = max(0, min(10, round(base + (quality - 3) * 0.8 + rng.gauss(0, 1))))
            resp = response(
                org,
                nps_survey,
                "nps",
                score,
                at,
                cust,
                locale=rng.choice(["en", "zh-hans"]),
                comment=rng.choice(["", "", "Great service", "送货太慢了", "Too expensive"]),
            )
            answers += [
                Answer(organization=org, response=resp, question=q_nps, number=score),
                Answer(organization=org, response=resp, question=q_price, number=price),
                Answer(organization=org, response=resp, question=q_quality, number=quality),
            ]
            response(
                org,
                csat_survey,
                "csat",
                quality,
                at + timedelta(hours=1),
                cust,
                touchpoint=touchpoints["home-delivery"],
                locale="en",
            )
            if rng.random() < 0.5:
                response(
                    org,
                    ces_survey,
                    "ces",
                    max(1, min(7, round(2 + loyalty * 5))),
                    at + timedelta(hours=2),
                    cust,
                    touchpoint=touchpoints["phone-support"],
                    locale="zh-hans",
                )
    Transaction.objects.bulk_create(txs)
    Interaction.objects.bulk_create(inters)
    Answer.objects.bulk_create(answers)
    return {"touchpoints": touchpoints, "nps_survey": nps_survey, "customers": custs}
