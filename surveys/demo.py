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
from .scoring import nps_category

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
# Comments by (score kind, touchpoint key) and band of the score, in each language: an NPS comment says
# why the customer would or would not recommend, a CSAT comment how the touchpoint went, a CES comment
# how much effort it took; a low score gets a negative comment.
Comments = dict[str, dict[str, list[str]]]
COMMENTS: dict[tuple[str, str | None], Comments] = {
    ("nps", None): {
        "low": {
            "en": [
                "I would not recommend you: prices went up and quality went down.",
                "Hard to recommend after my refund email went unanswered for weeks.",
                "I told a friend to shop elsewhere after my last two orders went wrong.",
            ],
            "zh-hans": [
                "不会推荐：价格涨了，质量却下降了。",
                "退款邮件几周没人回复，很难推荐。",
                "最近两次订单都出问题，我让朋友去别家买了。",
            ],
        },
        "mid": {
            "en": [
                "Good products, but nothing that makes me tell friends about you yet.",
                "I might recommend you if the loyalty points were worth more.",
            ],
            "zh-hans": ["商品不错，但还没好到会主动推荐。", "如果积分更划算，我会推荐给朋友。"],
        },
        "high": {
            "en": [
                "I recommend you to everyone: great quality and fair prices.",
                "Already recommended you to my sister, she loves it too.",
            ],
            "zh-hans": ["质量好价格公道，逢人就推荐。", "已经推荐给我妹妹了，她也很喜欢。"],
        },
    },
    ("nps", "web-checkout"): {
        "low": {
            "en": [
                "Would not recommend the online shop: checkout failed twice with my card.",
                "Not recommending it, the website lost my basket at payment.",
            ],
            "zh-hans": ["不会推荐网店：付款失败了两次。", "不推荐，付款时网站把购物车清空了。"],
        },
        "mid": {
            "en": [
                "The site works, but the app is too slow to recommend.",
                "OK to order online; I would recommend it if search were better.",
            ],
            "zh-hans": ["网站能用，但 App 太卡，不太想推荐。", "网上下单还行，搜索再好用点就会推荐。"],
        },
        "high": {
            "en": [
                "Ordering online takes a minute, I recommend it to my colleagues.",
                "Love the 618 deals, I sent the link to all my friends.",
            ],
            "zh-hans": ["网上下单一分钟搞定，已推荐给同事。", "618 活动很划算，链接已经分享给朋友们。"],
        },
    },
    ("nps", "store-checkout"): {
        "low": {
            "en": [
                "Would not recommend the store: the queue at the till took 25 minutes.",
                "Staff in the store were rude, I will not send friends there.",
            ],
            "zh-hans": ["不会推荐这家门店：结账排队二十五分钟。", "门店店员态度差，不会让朋友去。"],
        },
        "mid": {
            "en": [
                "Nice store, but sizes are out of stock too often to recommend it.",
                "Fine store; I would recommend it if it opened later in the evening.",
            ],
            "zh-hans": ["门店不错，但尺码经常缺货，暂时不会推荐。", "门店还行，晚上营业再晚一点就会推荐。"],
        },
        "high": {
            "en": [
                "The staff in the store were very helpful, I recommend it to everyone.",
                "Lovely store, I bring my friends along.",
            ],
            "zh-hans": ["门店店员非常热情，逢人就推荐。", "门店很好，常带朋友一起来。"],
        },
    },
    ("csat", "home-delivery"): {
        "low": {
            "en": ["The parcel arrived two days late.", "The box was crushed and one item was broken."],
            "zh-hans": ["快递晚了两天才到。", "箱子压坏了，有一件商品破损。"],
        },
        "mid": {
            "en": [
                "Delivered on time, but the courier did not call ahead.",
                "Arrived fine, the packaging was a bit damaged.",
            ],
            "zh-hans": ["按时送到，但快递员没有提前打电话。", "东西没问题，包装有点破损。"],
        },
        "high": {
            "en": ["Delivered the next morning, well packed.", "The courier was friendly and right on time."],
            "zh-hans": ["第二天上午就送到了，包装很好。", "快递员很客气，准时送达。"],
        },
    },
    ("csat", "web-checkout"): {
        "low": {
            "en": ["Checkout failed twice with my card.", "The coupon code did not apply at checkout."],
            "zh-hans": ["付款失败了两次。", "结账时优惠码用不了。"],
        },
        "mid": {
            "en": ["Checkout worked, but too many steps.", "Paid fine, the delivery options were confusing."],
            "zh-hans": ["能付款，但步骤太多。", "付款顺利，配送选项有点看不懂。"],
        },
        "high": {
            "en": [
                "Quick checkout with Alipay, very happy.",
                "Smooth payment, the order confirmation came at once.",
            ],
            "zh-hans": ["支付宝付款很快，非常满意。", "付款顺畅，马上收到了订单确认。"],
        },
    },
    ("ces", "phone-support"): {
        "low": {
            "en": [
                "I had to call three times and explain everything again.",
                "Support kept me waiting for 40 minutes.",
            ],
            "zh-hans": ["打了三次电话，每次都要从头说一遍。", "客服让我等了四十分钟。"],
        },
        "mid": {
            "en": [
                "Solved in the end, but I was transferred twice.",
                "Took a while to reach someone, then it was quick.",
            ],
            "zh-hans": ["最后解决了，但被转接了两次。", "等了一会才接通，之后很快。"],
        },
        "high": {
            "en": ["One call and it was sorted.", "The agent fixed it in five minutes, no effort at all."],
            "zh-hans": ["一个电话就解决了。", "客服五分钟就处理好了，很省心。"],
        },
    },
    ("ces", "chat-support"): {
        "low": {
            "en": [
                "The chatbot kept looping and I could not reach a person.",
                "I had to send my order number four times.",
            ],
            "zh-hans": ["机器人客服一直绕圈子，找不到人工。", "订单号发了四遍。"],
        },
        "mid": {
            "en": [
                "Got an answer, but only after the bot handed me over.",
                "Fine, though I waited ten minutes for an agent.",
            ],
            "zh-hans": ["转人工后才得到答复。", "还行，只是等人工客服等了十分钟。"],
        },
        "high": {
            "en": [
                "The chat answered in a minute and solved it.",
                "Very easy, the agent sent the return label right away.",
            ],
            "zh-hans": ["在线客服一分钟就回复并解决了。", "很方便，客服马上发来了退货单。"],
        },
    },
}


def comment_choices(kind: str, touchpoint_key: str | None, band: str, locale: str) -> list[str]:
    """The comments that fit a survey (its score kind and touchpoint), a band of score and a language."""
    fitting = COMMENTS.get((kind, touchpoint_key)) or COMMENTS[(kind, None)]
    return fitting[band][locale]


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
    if Customer.objects.for_organization(organization).exists():
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
        return {"detractor": "low", "passive": "mid", "promoter": "high"}[nps_category(score) or "detractor"]
    if kind == QuestionKind.CES:
        return "low" if score <= 3 else ("mid" if score <= 5 else "high")
    return "low" if score <= 2 else ("mid" if score == 3 else "high")


def seed(*, organization: Organization, stdout: Any, size: str = "full") -> None:
    rng = random.Random(20261122)
    total = 8000 if size == "full" else 300
    touchpoints = _ensure_touchpoints(organization)
    _ensure_customers(organization, 3000 if size == "full" else 120, rng)
    surveys: list[tuple[Survey, str, float]] = []
    tp_keys: dict[int, str | None] = {}
    for name, template, tp_key, channel, share in SURVEYS:
        survey = Survey.objects.for_organization(organization).filter(name=name).first()
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
        tp_keys[survey.pk] = tp_key
    if Response.objects.for_organization(organization).filter(idempotency_key__startswith="demo-").exists():
        stdout.write("surveys: demo responses already present")
        return

    now = timezone.now()
    customers = list(
        Customer.objects.for_organization(organization).annotate(
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
                # Soon after the order, at a time of its own (an order too recent keeps the time above).
                after_order = customer.last_order + timedelta(
                    days=rng.randint(1, 3), minutes=rng.randint(-360, 360), seconds=rng.randint(0, 59)
                )
                if after_order < now:
                    submitted = after_order
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
                comment = rng.choice(
                    comment_choices(primary.kind, tp_keys.get(survey.pk), _band(primary.kind, score), locale)
                )
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
