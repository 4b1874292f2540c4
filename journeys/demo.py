"""Demo data: a retail journey, customers with English and Chinese names, a year of orders with
seasonality (November/December peak, the 618 sale in June), loyal buyers, one-time buyers, churners
and refunds, and interactions along the journey with drop-off at each stage.

Deterministic (fixed random seed) and idempotent: ids are stable, so a second run creates nothing.
Everything is written through the same bulk ingest as the API.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from cxm.tenancy.models import Organization

from .ingest import MAX_RECORDS, records_ingest
from .models import Channel, Journey, Stage, Touchpoint

JOURNEY_NAME = "Retail journey"
STAGES = ["Discover", "Buy", "Delivery", "Use", "Support", "Repurchase"]
TOUCHPOINTS = [
    # key, name, stage, channel, owner
    ("website-browse", "Website browsing", "Discover", Channel.WEBSITE, "E-commerce"),
    ("app-browse", "App browsing", "Discover", Channel.MOBILE_APP, "Mobile team"),
    ("web-checkout", "Web checkout", "Buy", Channel.WEBSITE, "E-commerce"),
    ("store-checkout", "Store checkout", "Buy", Channel.STORE, "Retail operations"),
    ("home-delivery", "Home delivery", "Delivery", Channel.EMAIL, "Logistics"),
    ("app-usage", "App usage", "Use", Channel.MOBILE_APP, "Mobile team"),
    ("phone-support", "Phone support", "Support", Channel.PHONE, "Customer care"),
    ("chat-support", "Chat support", "Support", Channel.CHAT, "Customer care"),
    ("email-reorder", "Reorder email", "Repurchase", Channel.EMAIL, "CRM"),
]
SIZES = {"small": 200, "full": 3000}

_EN_FIRST = [
    "James",
    "Emma",
    "Oliver",
    "Sophia",
    "Liam",
    "Mia",
    "Noah",
    "Ava",
    "Lucas",
    "Chloe",
    "Ethan",
    "Grace",
]
_EN_LAST = ["Smith", "Brown", "Taylor", "Wilson", "Clark", "Walker", "Hall", "Young", "King", "Wright"]
_ZH_SURNAME = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱"]
_ZH_GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "霞"]
_PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang", "黄": "huang"}
_ZH_CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "南京", "武汉"]
_EN_CITIES = ["Singapore", "Hong Kong", "London", "Sydney", "San Francisco", "Toronto"]
_AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
_OCCUPATIONS = ["engineer", "teacher", "designer", "student", "manager", "nurse", "retired", "self-employed"]
# persona: (share of customers, orders in the year (min, max), months active from the start)
PERSONAS = {
    "loyal": (0.15, (10, 20)),
    "regular": (0.30, (3, 7)),
    "one_time": (0.30, (1, 1)),
    "churner": (0.15, (3, 6)),
    "browser": (0.10, (0, 0)),
}


def _day_weight(day: date) -> float:
    """Seasonality of retail orders: Singles' Day and December, and the 618 sale in June."""
    weight = 1.0
    if day.month == 11:
        weight = 2.0 + (4.0 if day.day == 11 else 0.0)
    elif day.month == 12:
        weight = 2.2
    elif day.month == 6 and day.day <= 18:
        weight = 1.8 + (4.0 if day.day == 18 else 0.0)
    elif day.month in (1, 2):
        weight = 0.8
    if day.weekday() >= 5:
        weight *= 1.25
    return weight


def ensure_journey(*, organization: Organization) -> dict[str, Touchpoint]:
    journey, _created = Journey.objects.get_or_create(
        organization=organization,
        name=JOURNEY_NAME,
        defaults={"description": "From first look to the next purchase, online and in store."},
    )
    stages = {}
    for position, name in enumerate(STAGES):
        stages[name], _created = Stage.objects.get_or_create(
            organization=organization, journey=journey, name=name, defaults={"position": position}
        )
    touchpoints = {}
    for position, (key, name, stage, channel, owner) in enumerate(TOUCHPOINTS):
        touchpoints[key], _created = Touchpoint.objects.get_or_create(
            organization=organization,
            key=key,
            defaults={
                "name": name,
                "stage": stages[stage],
                "channel": channel,
                "owner": owner,
                "position": position,
            },
        )
    return touchpoints


def _ingest(organization: Organization, kind: str, records: list[dict[str, Any]]) -> int:
    created = 0
    for start in range(0, len(records), MAX_RECORDS):
        result = records_ingest(
            organization=organization, kind=kind, records=records[start : start + MAX_RECORDS]
        )
        if result.errors:
            raise RuntimeError(f"demo {kind} rejected: {result.errors[:3]}")
        created += result.created
    return created


def seed(*, organization: Organization, stdout: Any = None, size: str = "full") -> None:
    rng = random.Random(20261111)  # noqa: S311 - demo data, not secrets
    touchpoints = ensure_journey(organization=organization)
    del touchpoints
    tz = organization.tzinfo
    now = timezone.now().astimezone(tz)
    today = now.date()
    days = [today - timedelta(days=offset) for offset in range(364, -1, -1)]
    weights = [_day_weight(day) for day in days]
    count = SIZES.get(size, SIZES["full"])
    persona_names = list(PERSONAS)
    persona_weights = [PERSONAS[name][0] for name in persona_names]

    customers: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    interactions: list[dict[str, Any]] = []

    def at(day: date, hour_low: int = 8, hour_high: int = 22) -> datetime:
        moment = datetime.combine(
            day, time(rng.randint(hour_low, hour_high - 1), rng.randint(0, 59)), tzinfo=tz
        )
        if moment < now:
            return moment
        # Today, later than the seed: the same time a day earlier, at least two hours before the seed
        # (moments fall before 22:00). Squeezing the day into the part that has passed put a whole
        # day's orders into the seconds after midnight when the demo was seeded just after it. The
        # random draws stay the same.
        return moment - timedelta(days=1)

    serial = iter(range(10**9))

    def interaction(customer_id: str, key: str, moment: datetime, kind: str) -> None:
        number = next(serial)  # drawn even when skipped, so ids stay stable from one day to the next
        if moment > now:
            return
        interactions.append(
            {
                "id": f"demo-{customer_id}-{number}",
                "customer_external_id": customer_id,
                "touchpoint": key,
                "kind": kind,
                "occurred_at": moment.isoformat(),
            }
        )

    for number in range(1, count + 1):
        external_id = f"C{number:05d}"
        persona = rng.choices(persona_names, persona_weights)[0]
        chinese = rng.random() < 0.65
        if chinese:
            surname, given = rng.choice(_ZH_SURNAME), rng.choice(_ZH_GIVEN) + rng.choice(["", *_ZH_GIVEN])
            name = surname + given
            email = f"{_PINYIN.get(surname, 'user')}{number}@example.cn"
            city = rng.choice(_ZH_CITIES)
            phone = f"+86 139 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        else:
            first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            name = f"{first} {last}"
            email = f"{first.lower()}.{last.lower()}{number}@example.com"
            city = rng.choice(_EN_CITIES)
            phone = f"+65 {rng.randint(8000, 9999)} {rng.randint(1000, 9999)}"
        customers.append(
            {
                "external_id": external_id,
                "name": name,
                "email": email,
                "phone": phone,
                "city": city,
                "age_band": rng.choice(_AGE_BANDS),
                "gender": rng.choice(["female", "male"]),
                "occupation": rng.choice(_OCCUPATIONS),
                "attributes": {"persona": persona, "loyalty_member": persona in ("loyal", "regular")},
                "unsubscribed": rng.random() < 0.04,
            }
        )
        low, high = PERSONAS[persona][1]
        n_orders = rng.randint(low, high)
        if persona == "browser":
            for _visit in range(rng.randint(1, 4)):
                day = rng.choice(days)
                interaction(external_id, rng.choice(["website-browse", "app-browse"]), at(day), "view")
            continue
        # Churners buy in the first seven months only; one-time buyers any time.
        window = slice(0, 210) if persona == "churner" else slice(0, len(days))
        order_days = sorted(rng.choices(days[window], weights[window], k=n_orders))
        base_spend = rng.lognormvariate(5.2 if persona == "loyal" else 5.0, 0.5)
        for index, day in enumerate(order_days):
            order_id = f"D{number:05d}-{index + 1:02d}"
            online = rng.random() < (0.7 if persona != "one_time" else 0.55)
            moment = at(day)
            amount = round(base_spend * rng.uniform(0.6, 1.6), 2)
            checkout = "web-checkout" if online else "store-checkout"
            orders.append(
                {
                    "order_id": order_id,
                    "customer_external_id": external_id,
                    "occurred_at": moment.isoformat(),
                    "amount": f"{amount:.2f}",
                    "currency": "CNY",
                    "touchpoint": checkout,
                    "properties": {"channel": "online" if online else "store", "items": rng.randint(1, 5)},
                }
            )
            if rng.random() < 0.04:
                refund_at = moment + timedelta(days=rng.randint(3, 20))
                if refund_at >= now:  # a refund still to come lands between the order and the seed
                    refund_at = moment + (now - moment) * ((refund_at - moment) / timedelta(days=21))
                orders.append(
                    {
                        "order_id": f"{order_id}-R",
                        "customer_external_id": external_id,
                        "occurred_at": refund_at.isoformat(),
                        "amount": f"{-amount:.2f}",
                        "currency": "CNY",
                        "touchpoint": checkout,
                        "properties": {"refund_of": order_id},
                    }
                )
            # The journey around the order, with drop-off at each later stage.
            if rng.random() < 0.8:
                browse = "app-browse" if rng.random() < 0.45 else "website-browse"
                interaction(external_id, browse, moment - timedelta(hours=rng.randint(2, 72)), "view")
            interaction(external_id, checkout, moment, "purchase")
            if online and rng.random() < 0.85:
                interaction(
                    external_id, "home-delivery", moment + timedelta(days=rng.randint(1, 4)), "delivered"
                )
            if rng.random() < 0.45:
                interaction(external_id, "app-usage", moment + timedelta(days=rng.randint(3, 15)), "session")
            if rng.random() < (0.25 if persona == "churner" else 0.12):
                support = "phone-support" if rng.random() < 0.5 else "chat-support"
                interaction(external_id, support, moment + timedelta(days=rng.randint(2, 20)), "contact")
            if rng.random() < (0.35 if persona == "loyal" else 0.12):
                interaction(
                    external_id, "email-reorder", moment + timedelta(days=rng.randint(20, 40)), "click"
                )

    created_customers = _ingest(organization, "customers", customers)
    created_orders = _ingest(organization, "transactions", orders)
    created_interactions = _ingest(organization, "interactions", interactions)
    if stdout is not None:
        stdout.write(
            f"journeys: {created_customers} customers, {created_orders} orders and "
            f"{created_interactions} interactions created ({len(customers)} / {len(orders)} / "
            f"{len(interactions)} in the demo set)"
        )
