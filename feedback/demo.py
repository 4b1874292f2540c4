"""Demo data of the text layer: app-store reviews, review-site posts, tickets and chats in Chinese and
English, whose rating, themes and sentiment go together (a one-star review complains about a theme, a
five-star one praises it). The analysis of these and of the survey comments runs in the background:
seeding only starts the backfill, which the next task (or the sweep, every minute) carries out."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from cxm.core import background
from cxm.tenancy.models import Organization
from journeys.models import Customer

from .models import FeedbackRecord
from .services import analysis_request, text_backfill_start

# (rating band, language) → texts. Low: 1–2 stars, mid: 3, high: 4–5.
TEXTS: dict[tuple[str, str], list[str]] = {
    ("low", "en"): [
        "The delivery was three days late and the courier was rude.",
        "Checkout failed twice and my payment was taken anyway.",
        "Still waiting for my refund after two weeks, support never answers.",
        "The app keeps crashing when I open my orders.",
        "The product arrived broken and the quality is poor.",
        "I was charged twice on my bill and nobody explains why.",
        "Long queue in the store and the staff were not helpful.",
        "Too expensive for what you get, the price went up again.",
    ],
    ("mid", "en"): [
        "Delivery was fine, but the packaging could be better.",
        "The app is okay, though the search is slow.",
        "Good price, but I had to wait a long time at the store.",
        "Support answered, but it took a while to fix my invoice.",
    ],
    ("high", "en"): [
        "Fast delivery and the courier was friendly.",
        "Great quality, I love it.",
        "Customer service was helpful and quick, thank you!",
        "The new app is easy to use and checkout is fast.",
        "Friendly staff in the store, no wait at all.",
        "Nice price for great quality.",
    ],
    ("low", "zh"): [
        "物流太慢了，等了一个星期才到。",
        "东西坏了，质量很差，非常失望。",
        "退款申请了两周还没到账，客服也不回复。",
        "支付失败了两次，钱却扣了，太麻烦了。",
        "门店排队太久，店员态度差。",
        "价格太贵了，不值这个钱。",
        "账单重复扣费，打电话也没人处理。",
        "app 一直闪退，根本没法下单。",
    ],
    ("mid", "zh"): [
        "物流还可以，但是包装有点破损。",
        "价格不错，不过门店排队有点久。",
        "客服回复了，但是处理发票很慢。",
        "质量一般，配送倒是很快。",
    ],
    ("high", "zh"): [
        "物流很快，快递员很热情。",
        "质量很好，非常满意。",
        "客服很专业，问题很快就解决了。",
        "网站很好用，付款也很方便。",
        "店员很热情，不用排队，很满意。",
        "价格便宜，质量不错，会再来买。",
    ],
}
CHANNELS = [
    ("app_store", "App Store", 0.25),
    ("review_site", "Dianping", 0.2),
    ("social", "Weibo", 0.15),
    ("ticket", "Helpdesk", 0.2),
    ("chat", "Live chat", 0.2),
]
COUNTS = {"full": 1200, "small": 120}


def _band(rating: int) -> str:
    return "low" if rating <= 2 else "mid" if rating == 3 else "high"


def seed(*, organization: Organization, stdout: Any, size: str = "full") -> None:
    """Idempotent: records are keyed demo-fb-N; then the backfill of every comment is started."""
    rng = random.Random(11)
    now = timezone.now()
    count = COUNTS.get(size, COUNTS["full"])
    customers = list(
        Customer.objects.for_organization(organization).order_by("pk").values_list("pk", "name")[:2000]
    )
    existing = set(
        FeedbackRecord.objects.for_organization(organization)
        .filter(external_id__startswith="demo-fb-")
        .values_list("external_id", flat=True)
    )
    records = []
    for index in range(count):
        external_id = f"demo-fb-{index}"
        if external_id in existing:
            continue
        customer = rng.choice(customers) if customers and rng.random() < 0.7 else None
        chinese = customer is not None and any("\u4e00" <= ch <= "\u9fff" for ch in customer[1])
        language = "zh" if chinese or (customer is None and rng.random() < 0.6) else "en"
        # Ratings lean positive, with a rising share of delivery complaints in the last month (an
        # emerging term to find).
        rating = rng.choices([1, 2, 3, 4, 5], weights=[12, 10, 14, 28, 36])[0]
        days_ago = rng.betavariate(1.1, 1.8) * 365
        texts = TEXTS[(_band(rating), language)]
        text = rng.choice(texts)
        if days_ago < 30 and rating <= 2 and rng.random() < 0.5:
            text = texts[0]
        channel, source, _weight = rng.choices(CHANNELS, weights=[c[2] for c in CHANNELS])[0]
        records.append(
            FeedbackRecord(
                organization=organization,
                external_id=external_id,
                text=text,
                channel=channel,
                source=source,
                occurred_at=now - timedelta(days=days_ago, minutes=rng.randint(0, 1440)),
                customer_id=customer[0] if customer else None,
                rating=rating if channel in ("app_store", "review_site") else None,
                rating_scale=5 if channel in ("app_store", "review_site") else None,
                language=language,
            )
        )
    FeedbackRecord.objects.bulk_create(records, batch_size=1000, ignore_conflicts=True)
    state = text_backfill_start(organization_id=organization.pk)
    if not background.enabled():
        analysis_request(organization_id=organization.pk)  # a worker (or, in tests, at once)
    # Without a broker this process is about to exit: the server's sweep (every minute) analyses them.
    stdout.write(
        f"  feedback: {len(records)} new feedback records; {state.progress_total} comments to analyse "
        "in the background"
    )
