"""Fill one organization with a realistic dataset at a given scale, fast and deterministically.

Scale 1 is 1,000,000 responses, 2,000,000 interactions, 500,000 orders and 100,000 customers;
scale 10 is 10M / 20M / 5M / 1M. Every table is filled by one set-based INSERT … SELECT
generate_series (PostgreSQL), after `setseed()`, so the same seed on a fresh database gives the same
rows; the secondary indexes of the big tables are dropped during the load and rebuilt after it.

The shape of the data, over the 730 local days before the anchor day (yesterday in the
organization's zone unless --anchor), more of it recently (a growing business), in daytime hours:
  13 touchpoints in 6 stages of one journey, over 7 channels (website, app, store, phone, chat,
    email, social), weighted (browsing is most of the traffic);
  5 surveys: relationship NPS (45 %), post-purchase NPS at the checkouts (15 %), delivery CSAT
    (15 %), support CES (15 %) and an in-app rating (10 %); 62 % zh-hans, 38 % en; 12 % anonymous;
    8 % with a comment; support scores lower than the rest; answers to two driver questions on one
    relationship-NPS response in five;
  customers skewed (a loyal core answers and buys often, a long tail once), orders log-normal in
    amount with 4 % refunds, at three checkouts.

`add` puts "1 % new data" on top: new customers, and responses, interactions and orders (70 % on
the current day, 30 % spread over older days, 85 % from existing customers), tagged so that
`remove` takes them away again; then it sends the signals the ingest paths send
(`response_recorded`, `customer_data_changed`), so whatever tracks changes learns of them.

Usage (creates the database when missing; --recreate drops it first):
  .venv/bin/python bench/scale_data.py generate --database cxm_scale_1m --scale 1
  nice -n 10 .venv/bin/python bench/scale_data.py generate --database cxm_scale_10m --scale 10
  .venv/bin/python bench/scale_data.py fit --database cxm_scale_1m   # (generate does it; again after a change)
  .venv/bin/python bench/scale_data.py add --database cxm_scale_1m --fraction 0.01 --tag inc1
  .venv/bin/python bench/scale_data.py remove --database cxm_scale_1m --tag inc1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SLUG = "scale"
TIME_ZONE = "Asia/Shanghai"
DAYS = 730
BASE = {"responses": 1_000_000, "interactions": 2_000_000, "orders": 500_000, "customers": 100_000}

STAGES = ["Discover", "Buy", "Delivery", "Use", "Support", "Repurchase"]
# key, stage, channel, share of interactions (per mille)
TOUCHPOINTS = [
    ("website-browse", "Discover", "website", 260),
    ("app-browse", "Discover", "mobile_app", 200),
    ("social-ads", "Discover", "social", 60),
    ("web-checkout", "Buy", "website", 70),
    ("app-checkout", "Buy", "mobile_app", 50),
    ("store-checkout", "Buy", "store", 50),
    ("home-delivery", "Delivery", "email", 80),
    ("store-pickup", "Delivery", "store", 20),
    ("app-usage", "Use", "mobile_app", 120),
    ("phone-support", "Support", "phone", 25),
    ("chat-support", "Support", "chat", 35),
    ("social-care", "Support", "social", 10),
    ("email-reorder", "Repurchase", "email", 20),
]
COMMENTS = [
    "Delivery was late",
    "Great service, thank you",
    "The app keeps logging me out",
    "Prices went up again",
    "快递太慢了",
    "客服很耐心",
    "质量很好，会再买",
    "退款太麻烦",
]
SEGMENTED_TABLES = ("journeys_interaction", "journeys_transaction", "surveys_response", "surveys_answer")


@dataclass
class Setup:
    """Ids of what the data refers to, read back from the database."""

    organization_id: int
    time_zone: str
    currency: str
    touchpoints: dict[str, int]
    stages: dict[str, int]
    surveys: dict[str, int]
    questions: dict[str, int]
    first_customer: int
    customers: int
    timings: dict[str, float] = field(default_factory=dict)


def counts_for(scale: float) -> dict[str, int]:
    return {name: max(1, int(round(n * scale))) for name, n in BASE.items()}


# --- database ------------------------------------------------------------------------------------


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parsed = urlparse(base)
    return parsed._replace(path=f"/{name}").geturl()


def _admin(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg2

    parsed = urlparse(url)
    connection = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else []
    connection.close()
    return rows


def database_prepare(url: str, *, recreate: bool) -> None:
    """Create the database when missing (drop it first with recreate) and migrate it."""
    name = urlparse(url).path.lstrip("/")
    if recreate:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    if not _admin(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        _admin(url, f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "cxm.settings.test"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=env)


def django_setup(url: str) -> None:
    """Point Django at the bench database (test settings: no broker, tasks in-process, locmem cache)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


# --- the organization and its structure ---------------------------------------------------------


def _structure(
    cursor: Any, organization_id: int
) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    cursor.execute(
        "INSERT INTO journeys_journey (organization_id, name, description, created_at)"
        " VALUES (%s, 'Retail journey', '', now()) RETURNING id",
        [organization_id],
    )
    journey = cursor.fetchone()[0]
    stages: dict[str, int] = {}
    for position, name in enumerate(STAGES):
        cursor.execute(
            "INSERT INTO journeys_stage (organization_id, journey_id, name, position) VALUES (%s, %s, %s, %s) RETURNING id",
            [organization_id, journey, name, position],
        )
        stages[name] = cursor.fetchone()[0]
    touchpoints: dict[str, int] = {}
    for position, (key, stage, channel, _share) in enumerate(TOUCHPOINTS):
        cursor.execute(
            "INSERT INTO journeys_touchpoint (organization_id, stage_id, name, key, channel, description, owner,"
            " position, created_at) VALUES (%s, %s, %s, %s, %s, '', '', %s, now()) RETURNING id",
            [organization_id, stages[stage], key.replace("-", " ").title(), key, channel, position],
        )
        touchpoints[key] = cursor.fetchone()[0]
    surveys: dict[str, int] = {}
    for name, touchpoint in (
        ("Relationship NPS", None),
        ("Post-purchase NPS", touchpoints["web-checkout"]),
        ("Delivery CSAT", touchpoints["home-delivery"]),
        ("Support CES", touchpoints["phone-support"]),
        ("App rating", touchpoints["app-usage"]),
    ):
        cursor.execute(
            "INSERT INTO surveys_survey (organization_id, public_id, name, status, languages, default_language,"
            " allowed_origins, thank_you, created_at, updated_at, touchpoint_id)"
            " VALUES (%s, md5(%s || %s), %s, 'active', '[\"en\", \"zh-hans\"]', 'en', '[]', '{}', now(), now(), %s)"
            " RETURNING id",
            [organization_id, organization_id, name, name, touchpoint],
        )
        surveys[name] = cursor.fetchone()[0]
    questions: dict[str, int] = {}
    for position, (kind, text) in enumerate((("nps", "Recommend"), ("rating", "Price"), ("csat", "Quality"))):
        cursor.execute(
            "INSERT INTO surveys_question (organization_id, survey_id, position, kind, text, required, options, show_if)"
            " VALUES (%s, %s, %s, %s, %s, false, '[]', '{}') RETURNING id",
            [organization_id, surveys["Relationship NPS"], position, kind, f'{{"en": "{text}"}}'],
        )
        questions[text] = cursor.fetchone()[0]
    return touchpoints, stages, surveys, questions


def setup_load(organization: Any) -> Setup:
    """The ids a generated organization's data refers to."""
    from django.db import connection

    with connection.cursor() as c:
        org = organization.pk
        c.execute("SELECT key, id FROM journeys_touchpoint WHERE organization_id = %s", [org])
        touchpoints = dict(c.fetchall())
        c.execute("SELECT name, id FROM journeys_stage WHERE organization_id = %s", [org])
        stages = dict(c.fetchall())
        c.execute("SELECT name, id FROM surveys_survey WHERE organization_id = %s", [org])
        surveys = dict(c.fetchall())
        c.execute(
            "SELECT text->>'en', id FROM surveys_question WHERE organization_id = %s AND survey_id = %s",
            [org, surveys["Relationship NPS"]],
        )
        questions = dict(c.fetchall())
        # The generated customers are contiguous ids; customers added by `add` come after them.
        c.execute(
            "SELECT min(id), count(*) FROM journeys_customer WHERE organization_id = %s AND external_id LIKE 'C%%'",
            [org],
        )
        first, customers = c.fetchone()
    return Setup(
        organization_id=org,
        time_zone=organization.time_zone,
        currency=organization.currency,
        touchpoints=touchpoints,
        stages=stages,
        surveys=surveys,
        questions=questions,
        first_customer=first,
        customers=customers,
    )


# --- SQL fragments ---------------------------------------------------------------------------------


def _local_time(day_sql: str) -> str:
    """A timestamptz on local day `day_sql` (a date expression), between 07:00 and 23:00 local."""
    return f"(({day_sql}) + make_interval(secs => 25200 + random() * 57600))::timestamp AT TIME ZONE %(tz)s"


# Days before the anchor: more recent days are denser (a growing business).
HISTORY_DAY = "(%(anchor)s::date - floor(%(days)s * power(random(), 1.25))::int)"
# Customers: a loyal core shows up often, a long tail once.
SKEWED_CUSTOMER = "(%(first)s + floor(power(random(), 1.3) * %(customers)s)::int)"


def _touchpoint_pick(setup: Setup) -> str:
    """A CASE over one random number choosing a touchpoint by its share of interactions."""
    total = sum(share for *_rest, share in TOUCHPOINTS)
    parts, upper = [], 0
    for key, _stage, _channel, share in TOUCHPOINTS:
        upper += share
        parts.append(f"WHEN u < {upper / total:.6f} THEN {setup.touchpoints[key]}")
    parts[-1] = f"ELSE {setup.touchpoints[TOUCHPOINTS[-1][0]]}"
    return "CASE " + " ".join(parts) + " END"


def responses_sql(
    setup: Setup, *, day_sql: str, customer_sql: str, key_prefix: str, updated_sql: str = "at"
) -> str:
    """Responses from rows `g` (an int) of generate_series; k picks the survey."""
    t = setup.touchpoints
    s = setup.surveys
    comments = "ARRAY[" + ", ".join("'" + text.replace("'", "''") + "'" for text in COMMENTS) + "]"
    return f"""
    INSERT INTO surveys_response (organization_id, survey_id, customer_id, touchpoint_id, channel, locale, page_url,
        idempotency_key, hidden_fields, score_kind, score, comment, submitted_at, updated_at)
    SELECT %(org)s,
        CASE k WHEN 0 THEN {s["Relationship NPS"]} WHEN 1 THEN {s["Post-purchase NPS"]} WHEN 2 THEN {s["Delivery CSAT"]}
            WHEN 3 THEN {s["Support CES"]} ELSE {s["App rating"]} END,
        CASE WHEN random() < 0.88 THEN {customer_sql} END,
        tp,
        CASE k WHEN 0 THEN (ARRAY['email', 'link'])[1 + floor(random() * 2)::int] WHEN 1 THEN 'widget' WHEN 2 THEN 'email'
            WHEN 3 THEN 'link' ELSE 'widget' END,
        CASE WHEN random() < 0.62 THEN 'zh-hans' ELSE 'en' END,
        '', '{key_prefix}' || g, '{{}}',
        CASE WHEN k <= 1 THEN 'nps' WHEN k = 2 THEN 'csat' WHEN k = 3 THEN 'ces' ELSE 'rating' END,
        CASE WHEN k <= 1 THEN (CASE WHEN v < 0.45 - 0.12 * coalesce((tp = {t["store-checkout"]})::int, 0) THEN 9 + floor(random() * 2)
                                    WHEN v < 0.75 THEN 7 + floor(random() * 2) ELSE floor(random() * 7) END)::int
             WHEN k = 2 THEN least(5, 1 + floor(power(random(), 0.6) * 5))::int
             WHEN k = 3 THEN least(7, 1 + floor(power(v, 1.1) * 7))::int
             ELSE least(5, 1 + floor(power(random(), 0.7) * 5))::int END,
        CASE WHEN random() < 0.08 THEN ({comments})[1 + floor(random() * {len(COMMENTS)})::int] ELSE '' END,
        at, {updated_sql}
    FROM (
        SELECT g, k, random() AS v, {_local_time(day_sql)} AS at,
            CASE k WHEN 0 THEN NULL
                WHEN 1 THEN (ARRAY[{t["web-checkout"]}, {t["app-checkout"]}, {t["store-checkout"]}])[1 + floor(random() * 3)::int]
                WHEN 2 THEN CASE WHEN random() < 0.8 THEN {t["home-delivery"]} ELSE {t["store-pickup"]} END
                WHEN 3 THEN (ARRAY[{t["phone-support"]}, {t["chat-support"]}, {t["chat-support"]}, {t["social-care"]}])[1 + floor(random() * 4)::int]
                ELSE {t["app-usage"]} END AS tp
        FROM (SELECT g, CASE WHEN u < 0.45 THEN 0 WHEN u < 0.60 THEN 1 WHEN u < 0.75 THEN 2 WHEN u < 0.90 THEN 3 ELSE 4 END AS k
              FROM (SELECT g, random() AS u FROM generate_series(%(lo)s, %(hi)s) g) a) b
    ) r
    """


def interactions_sql(setup: Setup, *, day_sql: str, customer_sql: str, key_prefix: str | None) -> str:
    external = f"'{key_prefix}' || g" if key_prefix else "NULL"
    return f"""
    INSERT INTO journeys_interaction (organization_id, customer_id, touchpoint_id, kind, occurred_at, properties,
        external_id, created_at)
    SELECT %(org)s, {customer_sql}, tp, 'visit', at, '{{}}', {external}, %(created)s
    FROM (SELECT g, {_touchpoint_pick(setup)} AS tp, {_local_time(day_sql)} AS at
          FROM (SELECT g, random() AS u FROM generate_series(%(lo)s, %(hi)s) g) a) r
    """


def orders_sql(setup: Setup, *, day_sql: str, customer_sql: str, key_prefix: str) -> str:
    t = setup.touchpoints
    return f"""
    INSERT INTO journeys_transaction (organization_id, customer_id, order_id, occurred_at, amount, currency,
        properties, created_at, touchpoint_id)
    SELECT %(org)s, {customer_sql}, '{key_prefix}' || g, {_local_time(day_sql)},
        CASE WHEN random() < 0.04 THEN -round((5 + random() * 60)::numeric, 2)
             ELSE round(exp(3.4 + random() * 1.2 + random() * 1.2)::numeric, 2) END,
        %(currency)s, '{{}}', %(created)s,
        CASE WHEN u < 0.55 THEN {t["web-checkout"]} WHEN u < 0.70 THEN {t["app-checkout"]} ELSE {t["store-checkout"]} END
    FROM (SELECT g, random() AS u FROM generate_series(%(lo)s, %(hi)s) g) a
    """


def answers_sql(setup: Setup, *, where: str) -> str:
    q = setup.questions
    return f"""
    INSERT INTO surveys_answer (organization_id, response_id, question_id, number, text, choices)
    SELECT %(org)s, r.id, q.id,
        CASE WHEN q.id = {q["Quality"]} THEN greatest(1, least(5, round(r.score / 2.2 + random())))
             ELSE greatest(1, least(5, round(r.score / 3.0 + random() * 2))) END,
        '', '[]'
    FROM surveys_response r CROSS JOIN (VALUES ({q["Quality"]}), ({q["Price"]})) q(id)
    WHERE r.organization_id = %(org)s AND r.survey_id = {setup.surveys["Relationship NPS"]} AND {where}
    """


# --- the secondary indexes of the big tables ------------------------------------------------------


def _secondary_indexes(cursor: Any) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary",
        [list(SEGMENTED_TABLES)],
    )
    return cursor.fetchall()


# --- generate --------------------------------------------------------------------------------------


def generate(
    *,
    scale: float = 1.0,
    seed: int = 1,
    slug: str = SLUG,
    time_zone: str = TIME_ZONE,
    anchor: date | None = None,
    days: int = DAYS,
    batch: int = 1_000_000,
    vacuum: bool = True,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> Setup:
    """Create organization `slug` and fill it at `scale`. Returns the ids and per-table seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cxm.tenancy.models import Organization

    counts = counts_for(scale)
    organization = Organization.objects.create(
        slug=slug, name="Scale Retail", time_zone=time_zone, currency="CNY"
    )
    anchor = anchor or (timezone.localdate(timezone=organization.tzinfo) - timedelta(days=1))
    timings: dict[str, float] = {}
    with connection.cursor() as c:
        touchpoints, stages, surveys, questions = _structure(c, organization.pk)
    setup = Setup(
        organization_id=organization.pk,
        time_zone=time_zone,
        currency="CNY",
        touchpoints=touchpoints,
        stages=stages,
        surveys=surveys,
        questions=questions,
        first_customer=0,
        customers=counts["customers"],
        timings=timings,
    )
    params: dict[str, Any] = {
        "org": organization.pk,
        "tz": time_zone,
        "anchor": anchor,
        "days": days,
        "customers": counts["customers"],
        "currency": "CNY",
    }
    with connection.cursor() as c:
        c.execute("SET synchronous_commit = off")
        c.execute("SET maintenance_work_mem = '256MB'")
        dropped = _secondary_indexes(c)
        for name, _definition in dropped:
            c.execute(f'DROP INDEX IF EXISTS "{name}"')

        def run(label: str, sql: str, total: int, salt: int, extra: dict[str, Any] | None = None) -> None:
            started = time.perf_counter()
            for part, lo in enumerate(range(1, total + 1, batch)):
                hi = min(total, lo + batch - 1)
                with transaction.atomic():
                    # No per-row FK triggers during the bulk load (the ids are generated consistent).
                    c.execute("SET LOCAL session_replication_role = replica")
                    c.execute(
                        "SELECT setseed(%s)", [((seed * 7919 + salt * 104729 + part) % 100_000) / 100_000]
                    )
                    c.execute(sql, {**params, **(extra or {}), "lo": lo, "hi": hi})
            timings[label] = time.perf_counter() - started
            log(f"{label}: {total:,} rows in {timings[label]:.1f}s")

        run(
            "customers",
            "INSERT INTO journeys_customer (organization_id, external_id, email, phone, name, age_band, gender, city,"
            " occupation, attributes, unsubscribed, created_at, updated_at, first_seen_at)"
            " SELECT %(org)s, 'C' || lpad(g::text, 8, '0'), 'c' || g || '@example.com', '', 'Customer ' || g,"
            " (ARRAY['18-24', '25-34', '35-44', '45-54', '55+'])[1 + floor(random() * 5)::int],"
            " (ARRAY['female', 'male', ''])[1 + floor(random() * 3)::int],"
            " (ARRAY['Shanghai', 'Beijing', 'Shenzhen', 'Hangzhou', 'Chengdu', 'Wuhan'])[1 + floor(random() * 6)::int],"
            " '', '{}', random() < 0.03, at, at, at"
            f" FROM (SELECT g, {_local_time('(%(anchor)s::date - %(days)s - 30 + floor(random() * (%(days)s + 30))::int)')} AS at"
            "       FROM generate_series(%(lo)s, %(hi)s) g) a",
            counts["customers"],
            1,
        )
        c.execute(
            "SELECT min(id) FROM journeys_customer WHERE organization_id = %s AND external_id LIKE 'C%%'",
            [organization.pk],
        )
        setup.first_customer = c.fetchone()[0]
        params["first"] = setup.first_customer
        run(
            "orders",
            orders_sql(setup, day_sql=HISTORY_DAY, customer_sql=SKEWED_CUSTOMER, key_prefix="O").replace(
                "%(created)s", "now()"
            ),
            counts["orders"],
            2,
        )
        run(
            "interactions",
            interactions_sql(
                setup, day_sql=HISTORY_DAY, customer_sql=SKEWED_CUSTOMER, key_prefix=None
            ).replace("%(created)s", "now()"),
            counts["interactions"],
            3,
        )
        run(
            "responses",
            responses_sql(setup, day_sql=HISTORY_DAY, customer_sql=SKEWED_CUSTOMER, key_prefix="k"),
            counts["responses"],
            4,
        )
        started = time.perf_counter()
        with transaction.atomic():
            c.execute("SET LOCAL session_replication_role = replica")
            c.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
            c.execute(answers_sql(setup, where="r.id %% 5 = 0"), params)
        timings["answers"] = time.perf_counter() - started
        log(f"answers: {timings['answers']:.1f}s")
        started = time.perf_counter()
        for _name, definition in dropped:
            c.execute(definition)
        timings["indexes"] = time.perf_counter() - started
        log(f"indexes ({len(dropped)}): {timings['indexes']:.1f}s")
        if vacuum:  # not inside a transaction (a test's)
            started = time.perf_counter()
            for table in ("journeys_customer", *SEGMENTED_TABLES):
                c.execute(f"VACUUM ANALYZE {table}")
            timings["vacuum_analyze"] = time.perf_counter() - started
            log(f"vacuum analyze: {timings['vacuum_analyze']:.1f}s")
    return setup


# --- 1 % new data ----------------------------------------------------------------------------------


def new_data_counts(setup: Setup, fraction: float) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT (SELECT count(*) FROM surveys_response WHERE organization_id = %(o)s),"
            " (SELECT count(*) FROM journeys_interaction WHERE organization_id = %(o)s),"
            " (SELECT count(*) FROM journeys_transaction WHERE organization_id = %(o)s)",
            {"o": setup.organization_id},
        )
        responses, interactions, orders = c.fetchone()
    return {
        "customers": max(1, int(setup.customers * fraction / 2)),
        "responses": max(1, int(responses * fraction)),
        "interactions": max(1, int(interactions * fraction)),
        "orders": max(1, int(orders * fraction)),
    }


def add(
    *,
    organization: Any,
    fraction: float = 0.01,
    tag: str = "inc1",
    seed: int = 2,
    kinds: tuple[str, ...] = ("customers", "orders", "interactions", "responses"),
) -> dict[str, int]:
    """Add `fraction` new data of `kinds`, tagged `tag`: 70 % on the current local day, 30 % on older
    days, 85 % from existing customers. Responses are stamped `updated_at = now()` as the product's
    writers stamp them. Sends the signals the ingest paths send. Returns the new row counts."""
    from django.db import connection, transaction
    from django.utils import timezone

    from journeys.signals import customer_data_changed
    from surveys.signals import response_recorded

    setup = setup_load(organization)
    counts = {kind: n for kind, n in new_data_counts(setup, fraction).items() if kind in kinds}
    today = timezone.localdate(timezone=organization.tzinfo)
    with connection.cursor() as c, transaction.atomic():
        c.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        new_ids: list[int] = []
        if "customers" in counts:
            c.execute(
                "INSERT INTO journeys_customer (organization_id, external_id, email, phone, name, age_band, gender, city,"
                " occupation, attributes, unsubscribed, created_at, updated_at, first_seen_at)"
                " SELECT %s, %s || '-' || g, %s || g || '@example.com', '', 'New customer ' || g, '', '', '', '', '{}',"
                " false, now(), now(), now() FROM generate_series(1, %s) g RETURNING id",
                [setup.organization_id, f"{tag}", f"{tag}.", counts["customers"]],
            )
            new_ids = [row[0] for row in c.fetchall()]
        params = {
            "org": setup.organization_id,
            "tz": setup.time_zone,
            "anchor": today,
            "days": DAYS,
            "first": setup.first_customer,
            "customers": setup.customers,
            "new_first": min(new_ids, default=0),
            "new_n": len(new_ids),
            "currency": setup.currency,
            "created": timezone.now(),
        }
        # Today for most, a late arrival on an older day for the rest; an existing customer mostly.
        day = (
            "(CASE WHEN random() < 0.7 THEN %(anchor)s::date ELSE "
            + HISTORY_DAY.replace("%(anchor)s::date", "(%(anchor)s::date - 1)")
            + " END)"
        )
        customer = (
            f"(CASE WHEN random() < 0.85 THEN {SKEWED_CUSTOMER} ELSE %(new_first)s + floor(random() * %(new_n)s)::int END)"
            if new_ids
            else SKEWED_CUSTOMER
        )
        # Today's rows end at the current local time at the latest.
        cap = "least({at}, now())"
        if "orders" in counts:
            c.execute(
                orders_sql(setup, day_sql=day, customer_sql=customer, key_prefix=f"{tag}-O").replace(
                    _local_time(day), cap.format(at=_local_time(day))
                ),
                {**params, "lo": 1, "hi": counts["orders"]},
            )
        if "interactions" in counts:
            c.execute(
                interactions_sql(setup, day_sql=day, customer_sql=customer, key_prefix=f"{tag}-i").replace(
                    _local_time(day), cap.format(at=_local_time(day))
                ),
                {**params, "lo": 1, "hi": counts["interactions"]},
            )
        response_ids: list[int] = []
        if "responses" in counts:
            c.execute(
                responses_sql(
                    setup, day_sql=day, customer_sql=customer, key_prefix=f"{tag}-k", updated_sql="now()"
                ).replace(_local_time(day), cap.format(at=_local_time(day)))
                + " RETURNING id",
                {**params, "lo": 1, "hi": counts["responses"]},
            )
            response_ids = [row[0] for row in c.fetchall()]
            c.execute(
                answers_sql(setup, where="r.idempotency_key LIKE %(like)s AND r.id %% 5 = 0"),
                {**params, "like": f"{tag}-k%"},
            )
        org_id = setup.organization_id
        if response_ids:
            transaction.on_commit(
                lambda: response_recorded.send(sender=None, organization_id=org_id, response_ids=response_ids)
            )
        told = {"customers": "customers", "interactions": "interactions", "orders": "transactions"}
        for kind in [told[k] for k in told if k in counts]:
            transaction.on_commit(
                lambda kind=kind: customer_data_changed.send(sender=None, organization_id=org_id, kind=kind)
            )
    return counts


def remove(*, organization: Any, tag: str = "inc1") -> dict[str, int]:
    """Delete what `add` put in under `tag` (answers, responses, orders, interactions, customers)."""
    from django.db import connection, transaction

    org = organization.pk
    removed: dict[str, int] = {}
    with connection.cursor() as c, transaction.atomic():
        c.execute(
            "DELETE FROM surveys_answer a USING surveys_response r WHERE a.response_id = r.id"
            " AND r.organization_id = %s AND r.idempotency_key LIKE %s",
            [org, f"{tag}-k%"],
        )
        removed["answers"] = c.rowcount
        # Rows other tables keep about the new customers (stored values, invitations, …): found by
        # their foreign keys, so a table added later is covered too.
        c.execute(
            "SELECT cl.relname, a.attname FROM pg_constraint k JOIN pg_class cl ON cl.oid = k.conrelid"
            " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]"
            " WHERE k.contype = 'f' AND k.confrelid = 'journeys_customer'::regclass AND array_length(k.conkey, 1) = 1"
            " AND cl.relname NOT IN ('surveys_response', 'journeys_transaction', 'journeys_interaction')"
        )
        for table, column in c.fetchall():
            c.execute(
                f'DELETE FROM "{table}" WHERE "{column}" IN (SELECT id FROM journeys_customer'
                " WHERE organization_id = %s AND external_id LIKE %s)",
                [org, f"{tag}-%"],
            )
        for table, column, prefix in (
            ("surveys_response", "idempotency_key", f"{tag}-k"),
            ("journeys_transaction", "order_id", f"{tag}-O"),
            ("journeys_interaction", "external_id", f"{tag}-i"),
            ("journeys_customer", "external_id", f"{tag}-"),
        ):
            c.execute(
                f"DELETE FROM {table} WHERE organization_id = %s AND {column} LIKE %s", [org, prefix + "%"]
            )
            removed[table] = c.rowcount
    return removed


def clv_fit(*, organization: Any, log: Callable[[str], None] = print) -> float:
    """Fit the CLV model the way the product does (the task), so the value dashboard scores
    customers as it would for a real organization. Calibration ends 90 days ago, weekly periods."""
    from django.utils import timezone

    from metrics.tasks import fit_clv_model

    calibration_end = timezone.localdate(timezone=organization.tzinfo) - timedelta(days=90)
    started = time.perf_counter()
    fit_clv_model(organization.pk, calibration_end.isoformat(), "week")
    seconds = time.perf_counter() - started
    log(f"clv fit: {seconds:.1f}s")
    return seconds


def table_counts(organization_id: int) -> dict[str, int]:
    from django.db import connection

    result = {}
    with connection.cursor() as c:
        for table in (
            "journeys_customer",
            "surveys_response",
            "journeys_interaction",
            "journeys_transaction",
            "surveys_answer",
        ):
            c.execute(f"SELECT count(*) FROM {table} WHERE organization_id = %s", [organization_id])
            result[table] = c.fetchone()[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["generate", "fit", "add", "remove", "counts"])
    parser.add_argument("--database", required=True, help="database name (on BENCH_DATABASE_URL's server)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slug", default=SLUG)
    parser.add_argument("--anchor", type=date.fromisoformat, default=None, help="last day of history (local)")
    parser.add_argument("--recreate", action="store_true", help="drop the database first")
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--tag", default="inc1")
    args = parser.parse_args()
    url = database_url(args.database)
    if args.action == "generate":
        database_prepare(url, recreate=args.recreate)
    django_setup(url)
    from cxm.tenancy.models import Organization

    if args.action == "generate":
        if Organization.objects.filter(slug=args.slug).exists():
            sys.exit(
                f"organization {args.slug!r} already exists in {args.database}: use --recreate or another --slug"
            )
        started = time.perf_counter()
        setup = generate(scale=args.scale, seed=args.seed, slug=args.slug, anchor=args.anchor)
        print(
            f"generated in {time.perf_counter() - started:.1f}s: {table_counts(setup.organization_id)}",
            flush=True,
        )
        clv_fit(organization=Organization.objects.get(pk=setup.organization_id))
        return
    organization = Organization.objects.get(slug=args.slug)
    if args.action == "fit":
        clv_fit(organization=organization)
    elif args.action == "add":
        from django.test.utils import override_settings

        with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False):
            print("added", add(organization=organization, fraction=args.fraction, tag=args.tag))
    elif args.action == "remove":
        print("removed", remove(organization=organization, tag=args.tag))
    print(table_counts(organization.pk))


if __name__ == "__main__":
    main()
