"""Benchmark: full dashboard recompute vs the same aggregates as hand-written SQL, and page times.

Loads one organization with 1,000,000 responses, 2,000,000 interactions and 500,000 orders into
PostgreSQL with INSERT … SELECT generate_series, then in the same run:
  1. times a full recompute (every dashboard, the per-customer values) through the ORM code;
  2. times the same aggregates written by hand as plain SQL on the same database;
  3. serves each dashboard page from its snapshot (Django test client, in-process server time).

Usage (creates/drops the database named in BENCH_DATABASE_URL):
  BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_metrics_bench .venv/bin/python bench/metrics_recompute.py
Options: --scale 0.1 for a quick run, --skip-load to reuse loaded data, --out bench/RESULTS-metrics.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _psql_admin(url: str, sql: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname="postgres",
        password=parsed.password,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql)
    admin.close()


def prepare_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    _psql_admin(url, f'DROP DATABASE IF EXISTS "{name}"')
    _psql_admin(url, f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env={**os.environ})


def load(scale: float) -> dict[str, float]:
    """Bulk load with INSERT … SELECT generate_series (one statement per table)."""
    from django.db import connection

    from cxm.tenancy.models import Organization

    customers = int(100_000 * scale)
    orders = int(500_000 * scale)
    interactions = int(2_000_000 * scale)
    responses = int(1_000_000 * scale)
    # The orders below are in CNY: so is the organization (else every amount is left out, no rate).
    org = Organization.objects.create(
        slug="bench", name="Bench Retail", time_zone="Asia/Shanghai", currency="CNY"
    )
    timings: dict[str, float] = {}
    with connection.cursor() as c:
        c.execute("SET session_replication_role = replica")  # no per-row FK triggers during the bulk load

        def run(label: str, sql: str, params: list | None = None) -> None:
            started = time.perf_counter()
            c.execute(sql, params or [])
            timings[label] = time.perf_counter() - started

        c.execute(
            "INSERT INTO journeys_journey (organization_id, name, description, created_at) VALUES (%s, 'Retail journey', '', now()) RETURNING id",
            [org.pk],
        )
        journey = c.fetchone()[0]
        stages = {}
        for position, name in enumerate(["Discover", "Buy", "Delivery", "Use", "Support", "Repurchase"]):
            c.execute(
                "INSERT INTO journeys_stage (organization_id, journey_id, name, position) VALUES (%s, %s, %s, %s) RETURNING id",
                [org.pk, journey, name, position],
            )
            stages[name] = c.fetchone()[0]
        touchpoints = {}
        for position, (key, stage, channel) in enumerate(
            [
                ("website-browse", "Discover", "website"),
                ("app-browse", "Discover", "mobile_app"),
                ("web-checkout", "Buy", "website"),
                ("store-checkout", "Buy", "store"),
                ("home-delivery", "Delivery", "email"),
                ("app-usage", "Use", "mobile_app"),
                ("phone-support", "Support", "phone"),
                ("chat-support", "Support", "chat"),
                ("email-reorder", "Repurchase", "email"),
            ]
        ):
            c.execute(
                "INSERT INTO journeys_touchpoint (organization_id, stage_id, name, key, channel, description, owner, position, created_at)"
                " VALUES (%s, %s, %s, %s, %s, '', '', %s, now()) RETURNING id",
                [org.pk, stages[stage], key.replace("-", " ").title(), key, channel, position],
            )
            touchpoints[key] = c.fetchone()[0]
        surveys = {}
        for name, tp in (
            ("Relationship NPS", None),
            ("Delivery CSAT", touchpoints["home-delivery"]),
            ("Support CES", touchpoints["phone-support"]),
        ):
            c.execute(
                "INSERT INTO surveys_survey (organization_id, public_id, name, status, languages, default_language, allowed_origins,"
                " thank_you, created_at, updated_at, touchpoint_id) VALUES (%s, md5(random()::text), %s, 'active', '[\"en\", \"zh-hans\"]',"
                " 'en', '[]', '{}', now(), now(), %s) RETURNING id",
                [org.pk, name, tp],
            )
            surveys[name] = c.fetchone()[0]
        questions = {}
        for position, (kind, text) in enumerate(
            (("nps", "Recommend"), ("rating", "Price"), ("csat", "Quality"))
        ):
            c.execute(
                "INSERT INTO surveys_question (organization_id, survey_id, position, kind, text, required, options, show_if)"
                " VALUES (%s, %s, %s, %s, %s, false, '[]', '{}') RETURNING id",
                [org.pk, surveys["Relationship NPS"], position, kind, f'{{"en": "{text}"}}'],
            )
            questions[text] = c.fetchone()[0]
        run(
            "customers",
            "INSERT INTO journeys_customer (organization_id, external_id, email, phone, name, age_band, gender, city, occupation,"
            " attributes, unsubscribed, created_at, updated_at) SELECT %s, 'C' || lpad(g::text, 7, '0'), '', '', 'Customer ' || g,"
            " '', '', '', '', '{}', false, now() - interval '800 days', now() FROM generate_series(1, %s) g",
            [org.pk, customers],
        )
        c.execute("SELECT min(id) FROM journeys_customer WHERE organization_id = %s", [org.pk])
        first = c.fetchone()[0]
        # Buyers are skewed (power of a uniform): a loyal core buys often, a long tail once.
        run(
            "orders",
            "INSERT INTO journeys_transaction (organization_id, customer_id, order_id, occurred_at, amount, currency, properties, created_at, touchpoint_id)"
            " SELECT %s, %s + floor(power(random(), 1.6) * %s)::int, 'O' || g, now() - random() * interval '730 days',"
            " CASE WHEN random() < 0.04 THEN -round((random() * 60)::numeric, 2) ELSE round((15 + random() * 285)::numeric, 2) END,"
            " 'CNY', '{}', now(), %s FROM generate_series(1, %s) g",
            [org.pk, first, customers, touchpoints["web-checkout"], orders],
        )
        tps = list(touchpoints.values())
        run(
            "interactions",
            "INSERT INTO journeys_interaction (organization_id, customer_id, touchpoint_id, kind, occurred_at, properties, created_at)"
            " SELECT %s, %s + floor(random() * %s)::int, (%s::bigint[])[1 + floor(random() * %s)::int], '',"
            " now() - random() * interval '730 days', '{}', now() FROM generate_series(1, %s) g",
            [org.pk, first, customers, tps, len(tps), interactions],
        )
        run(
            "responses",
            "INSERT INTO surveys_response (organization_id, survey_id, customer_id, touchpoint_id, channel, locale, page_url, idempotency_key,"
            " hidden_fields, score_kind, score, comment, submitted_at, updated_at)"
            " SELECT %(org)s, CASE k WHEN 0 THEN %(nps)s WHEN 1 THEN %(csat)s ELSE %(ces)s END,"
            " CASE WHEN random() < 0.9 THEN %(first)s + floor(random() * %(customers)s)::int END,"
            " CASE k WHEN 0 THEN CASE WHEN random() < 0.5 THEN %(checkout)s END WHEN 1 THEN %(delivery)s"
            "   ELSE CASE WHEN random() < 0.5 THEN %(phone)s ELSE %(chat)s END END,"
            " 'link', CASE WHEN random() < 0.5 THEN 'en' ELSE 'zh-hans' END, '', 'k' || g, '{}',"
            " CASE k WHEN 0 THEN 'nps' WHEN 1 THEN 'csat' ELSE 'ces' END,"
            " CASE k WHEN 0 THEN least(10, floor(random() * 11 + random() * 3))::int WHEN 1 THEN 1 + floor(random() * 5)::int"
            "   ELSE 1 + floor(random() * 7)::int END,"
            " CASE WHEN random() < 0.05 THEN 'Delivery was late' ELSE '' END, now() - random() * interval '730 days', now()"
            " FROM (SELECT g, CASE WHEN random() < 0.6 THEN 0 WHEN random() < 0.6 THEN 1 ELSE 2 END AS k FROM generate_series(1, %(n)s) g) s",
            {
                "org": org.pk,
                "nps": surveys["Relationship NPS"],
                "csat": surveys["Delivery CSAT"],
                "ces": surveys["Support CES"],
                "first": first,
                "customers": customers,
                "checkout": touchpoints["web-checkout"],
                "delivery": touchpoints["home-delivery"],
                "phone": touchpoints["phone-support"],
                "chat": touchpoints["chat-support"],
                "n": responses,
            },
        )
        run(
            "answers",
            "INSERT INTO surveys_answer (organization_id, response_id, question_id, number, text, choices)"
            " SELECT %s, r.id, q.id, CASE WHEN q.id = %s THEN greatest(1, least(5, round(r.score / 2.2 + random())))"
            "   ELSE 1 + floor(random() * 5) END, '', '[]'"
            " FROM surveys_response r CROSS JOIN (VALUES (%s), (%s)) q(id)"
            " WHERE r.organization_id = %s AND r.score_kind = 'nps' AND r.id %% 5 = 0",
            [org.pk, questions["Quality"], questions["Quality"], questions["Price"], org.pk],
        )
        c.execute("SET session_replication_role = DEFAULT")
        started = time.perf_counter()
        c.execute("ANALYZE")
        timings["analyze"] = time.perf_counter() - started
    return timings


# --- Hand-written SQL: the same aggregates, plain SQL ------------------------------------------------

SCORES = """
  count(*) FILTER (WHERE score_kind='nps' AND score >= 9), count(*) FILTER (WHERE score_kind='nps' AND score BETWEEN 7 AND 8),
  count(*) FILTER (WHERE score_kind='nps' AND score <= 6), count(*) FILTER (WHERE score_kind='csat'),
  count(*) FILTER (WHERE score_kind='csat' AND score >= 4), sum(score) FILTER (WHERE score_kind='csat'),
  sum(score::float * score) FILTER (WHERE score_kind='csat'), count(*) FILTER (WHERE score_kind='ces'),
  count(*) FILTER (WHERE score_kind='ces' AND score >= 5), sum(score) FILTER (WHERE score_kind='ces'),
  sum(score::float * score) FILTER (WHERE score_kind='ces'), count(*) FILTER (WHERE score_kind='rating'),
  sum(score) FILTER (WHERE score_kind='rating')
"""


def _lifecycle_sql() -> str:
    """One pass over the purchases: the last purchase before each of 13 month ends, per customer."""
    ends = [
        f"(date_trunc('month', %(end)s::timestamptz AT TIME ZONE %(tz)s) - interval '{k} months') AT TIME ZONE %(tz)s"
        for k in range(13)
    ]
    lasts = ", ".join(
        f"max(occurred_at) FILTER (WHERE occurred_at < {e}) AS l{k}" for k, e in enumerate(ends)
    )
    counts = []
    for k, e in enumerate(ends):
        new = f"first_at < {e} AND first_at >= {e} - interval '30 days'"
        old = f"first_at < {e} - interval '30 days'"
        counts += [
            f"count(*) FILTER (WHERE {new})",
            f"count(*) FILTER (WHERE {old} AND l{k} >= {e} - interval '90 days')",
            f"count(*) FILTER (WHERE {old} AND l{k} < {e} - interval '90 days' AND l{k} >= {e} - interval '180 days')",
            f"count(*) FILTER (WHERE first_at < {e} AND l{k} < {e} - interval '180 days')",
        ]
    return (
        f"SELECT {', '.join(counts)} FROM (SELECT customer_id, min(occurred_at) AS first_at, {lasts} FROM journeys_transaction"
        " WHERE organization_id = %(org)s AND amount > 0 GROUP BY 1) per"
    )


LIFECYCLE_SQL = _lifecycle_sql()


def _retention_sql() -> str:
    """One pass: per customer, purchases in the 90 days before each period's start and end (12 months
    and the whole window), then S, E, N and churned per period."""
    starts = [
        f"(date_trunc('month', %(end)s::timestamptz AT TIME ZONE %(tz)s) - interval '{k} months') AT TIME ZONE %(tz)s"
        for k in range(11, -1, -1)
    ]
    periods = [
        (
            s,
            f"least(({s} AT TIME ZONE %(tz)s + interval '1 month') AT TIME ZONE %(tz)s, %(end)s::timestamptz)",
        )
        for s in starts
    ]
    periods.append(("%(start)s::timestamptz", "%(end)s::timestamptz"))
    inner, outer = ["min(occurred_at) AS first_at"], []
    for k, (s, e) in enumerate(periods):
        inner.append(
            f"count(*) FILTER (WHERE occurred_at >= {s} - interval '90 days' AND occurred_at < {s}) AS s{k}"
        )
        inner.append(
            f"count(*) FILTER (WHERE occurred_at >= {e} - interval '90 days' AND occurred_at < {e}) AS e{k}"
        )
        outer += [
            f"count(*) FILTER (WHERE s{k} > 0)",
            f"count(*) FILTER (WHERE e{k} > 0)",
            f"count(*) FILTER (WHERE first_at >= {s} AND first_at < {e})",
            f"count(*) FILTER (WHERE s{k} > 0 AND e{k} = 0)",
        ]
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT customer_id, {', '.join(inner)} FROM journeys_transaction"
        " WHERE organization_id = %(org)s AND amount > 0 GROUP BY 1) per"
    )


RETENTION_SQL = _retention_sql()


def hand_sql(
    org_id: int, tz: str, start: str, end: str, prev_start: str
) -> dict[str, list[tuple[str, str, list]]]:
    """(label, sql, params) per dashboard. start/end are the local window bounds as timestamptz text."""
    W = "organization_id = %(org)s AND score IS NOT NULL AND submitted_at >= %(start)s AND submitted_at < %(end)s"
    p = {"org": org_id, "tz": tz, "start": start, "end": end, "prev": prev_start}
    overview = [
        ("summary", f"SELECT {SCORES} FROM surveys_response WHERE {W}", p),
        (
            "previous",
            f"SELECT {SCORES} FROM surveys_response WHERE organization_id = %(org)s AND score IS NOT NULL AND submitted_at >= %(prev)s AND submitted_at < %(start)s",
            p,
        ),
        (
            "trend",
            f"SELECT date_trunc('week', submitted_at AT TIME ZONE %(tz)s) b, {SCORES} FROM surveys_response WHERE {W} GROUP BY 1 ORDER BY 1",
            p,
        ),
        (
            "distribution",
            f"SELECT score_kind, score, count(*) FROM surveys_response WHERE {W} GROUP BY 1, 2",
            p,
        ),
        (
            "comments",
            f"SELECT r.id, score_kind, score, comment, locale, submitted_at, s.name FROM surveys_response r JOIN surveys_survey s ON s.id = r.survey_id WHERE r.{W.replace('score IS', 'r.score IS')} AND comment <> '' ORDER BY submitted_at DESC, r.id DESC LIMIT 10",
            p,
        ),
        (
            "by_survey",
            f"SELECT r.survey_id, s.name, {SCORES} FROM surveys_response r JOIN surveys_survey s ON s.id = r.survey_id WHERE r.{W.replace('score IS', 'r.score IS')} GROUP BY 1, 2",
            p,
        ),
        ("by_locale", f"SELECT locale, {SCORES} FROM surveys_response WHERE {W} GROUP BY 1", p),
    ]
    journey = [
        (
            "by_touchpoint",
            f"SELECT r.touchpoint_id, t.name, {SCORES} FROM surveys_response r LEFT JOIN journeys_touchpoint t ON t.id = r.touchpoint_id WHERE r.{W.replace('score IS', 'r.score IS')} GROUP BY 1, 2",
            p,
        ),
        (
            "by_stage",
            f"SELECT t.stage_id, st.name, {SCORES} FROM surveys_response r LEFT JOIN journeys_touchpoint t ON t.id = r.touchpoint_id LEFT JOIN journeys_stage st ON st.id = t.stage_id WHERE r.{W.replace('score IS', 'r.score IS')} GROUP BY 1, 2",
            p,
        ),
        (
            "by_channel",
            f"SELECT t.channel, {SCORES} FROM surveys_response r LEFT JOIN journeys_touchpoint t ON t.id = r.touchpoint_id WHERE r.{W.replace('score IS', 'r.score IS')} GROUP BY 1",
            p,
        ),
        (
            "reach",
            "SELECT touchpoint_id, count(*), count(DISTINCT customer_id) FROM journeys_interaction WHERE organization_id = %(org)s AND occurred_at >= %(start)s AND occurred_at < %(end)s GROUP BY 1",
            p,
        ),
    ]
    retention = [
        (
            "cohorts",
            """
          WITH firsts AS (SELECT customer_id, min(date_trunc('month', occurred_at AT TIME ZONE %(tz)s)) AS cohort
                          FROM journeys_transaction WHERE organization_id = %(org)s AND amount > 0 GROUP BY 1),
               months AS (SELECT DISTINCT customer_id, date_trunc('month', occurred_at AT TIME ZONE %(tz)s) AS month
                          FROM journeys_transaction WHERE organization_id = %(org)s AND amount > 0
                          AND occurred_at >= date_trunc('month', %(end)s::timestamptz AT TIME ZONE %(tz)s - interval '11 months') AT TIME ZONE %(tz)s)
          SELECT f.cohort, (extract(year FROM m.month) * 12 + extract(month FROM m.month)) - (extract(year FROM f.cohort) * 12 + extract(month FROM f.cohort)) AS k,
                 count(*) FROM firsts f JOIN months m USING (customer_id)
          WHERE f.cohort >= date_trunc('month', %(end)s::timestamptz AT TIME ZONE %(tz)s - interval '11 months') GROUP BY 1, 2""",
            p,
        ),
        ("retention_rates", RETENTION_SQL, p),
        (
            "repeat",
            "SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (SELECT customer_id, count(*) n FROM journeys_transaction WHERE organization_id = %(org)s AND amount > 0 AND occurred_at >= %(start)s AND occurred_at < %(end)s GROUP BY 1) x",
            p,
        ),
    ]
    value = [
        (
            "customer_summary",
            """
          WITH days AS (SELECT customer_id, (occurred_at AT TIME ZONE %(tz)s)::date AS d, sum(amount) FILTER (WHERE amount > 0) AS spend,
                               count(*) FILTER (WHERE amount > 0) AS n, sum(amount) AS net,
                               sum(amount) FILTER (WHERE occurred_at >= now() - interval '365 days') AS trail,
                               min(occurred_at) FILTER (WHERE amount > 0) AS first_at, max(occurred_at) FILTER (WHERE amount > 0) AS last_at
                        FROM journeys_transaction WHERE organization_id = %(org)s GROUP BY 1, 2)
          SELECT customer_id, min(first_at), max(last_at), min(d) FILTER (WHERE spend IS NOT NULL), max(d) FILTER (WHERE spend IS NOT NULL),
                 count(*) FILTER (WHERE spend IS NOT NULL), sum(n), sum(spend), sum(net), sum(trail),
                 (array_agg(spend ORDER BY d) FILTER (WHERE spend IS NOT NULL))[1]
          FROM days GROUP BY 1""",
            p,
        ),
        (
            "customer_activity",
            """
          SELECT c.id, c.created_at, li.at, ln.score, ln.submitted_at FROM journeys_customer c
          LEFT JOIN LATERAL (SELECT occurred_at AS at FROM journeys_interaction i WHERE i.organization_id = %(org)s AND i.customer_id = c.id ORDER BY occurred_at DESC LIMIT 1) li ON true
          LEFT JOIN LATERAL (SELECT score, submitted_at FROM surveys_response r WHERE r.organization_id = %(org)s AND r.customer_id = c.id AND r.score_kind = 'nps' AND r.score IS NOT NULL ORDER BY submitted_at DESC, id DESC LIMIT 1) ln ON true
          WHERE c.organization_id = %(org)s""",
            p,
        ),
        ("lifecycle_history", LIFECYCLE_SQL, p),
        (
            "revenue_at_risk",
            """
          WITH latest AS (SELECT DISTINCT ON (customer_id) customer_id, score FROM surveys_response
                          WHERE organization_id = %(org)s AND score_kind = 'nps' AND score IS NOT NULL AND customer_id IS NOT NULL
                          ORDER BY customer_id, submitted_at DESC, id DESC)
          SELECT sum(t.amount), count(DISTINCT t.customer_id), (SELECT count(*) FROM latest WHERE score <= 6)
          FROM journeys_transaction t JOIN latest l ON l.customer_id = t.customer_id AND l.score <= 6
          WHERE t.organization_id = %(org)s AND t.occurred_at > now() - interval '365 days'""",
            p,
        ),
        (
            "monetized_nps",
            f"""
          WITH latest AS (SELECT DISTINCT ON (customer_id) id, customer_id, score, submitted_at FROM surveys_response
                          WHERE {W} AND score_kind = 'nps' AND customer_id IS NOT NULL ORDER BY customer_id, submitted_at DESC, id DESC),
               money AS (SELECT l.id, l.score, coalesce(sum(t.amount), 0) AS revenue, bool_or(t.amount > 0) AS bought
                         FROM latest l LEFT JOIN journeys_transaction t ON t.organization_id = %(org)s AND t.customer_id = l.customer_id
                           AND t.occurred_at > l.submitted_at AND t.occurred_at <= l.submitted_at + interval '180 days' GROUP BY 1, 2)
          SELECT CASE WHEN score >= 9 THEN 'p' WHEN score >= 7 THEN 'n' ELSE 'd' END, count(*), avg(revenue), count(*) FILTER (WHERE bought)
          FROM money GROUP BY 1""",
            p,
        ),
    ]
    drivers = [
        (
            "question_stats",
            f"SELECT a.question_id, count(*), avg(a.number) FROM surveys_answer a JOIN surveys_question q ON q.id = a.question_id JOIN surveys_response r ON r.id = a.response_id WHERE r.{W.replace('score IS', 'r.score IS')} AND r.score_kind = 'nps' AND r.customer_id IS NOT NULL AND q.kind IN ('csat', 'ces', 'rating') AND a.number IS NOT NULL GROUP BY 1",
            p,
        ),
        (
            "touchpoint_stats",
            f"SELECT touchpoint_id, score_kind, count(*), avg(score) FROM surveys_response WHERE {W} AND score_kind IN ('csat', 'ces') AND touchpoint_id IS NOT NULL AND customer_id IN (SELECT customer_id FROM surveys_response WHERE {W} AND score_kind = 'nps') GROUP BY 1, 2",
            p,
        ),
        (
            "outcome",
            f"SELECT customer_id, avg(score) FROM surveys_response WHERE {W} AND score_kind = 'nps' AND customer_id IS NOT NULL GROUP BY 1",
            p,
        ),
        (
            "question_pivot",
            f"SELECT r.customer_id, avg(a.number) FILTER (WHERE a.question_id = (SELECT min(id) FROM surveys_question WHERE kind = 'rating')), avg(a.number) FILTER (WHERE a.question_id = (SELECT min(id) FROM surveys_question WHERE kind = 'csat')) FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id WHERE r.{W.replace('score IS', 'r.score IS')} AND r.score_kind = 'nps' AND r.customer_id IS NOT NULL AND a.number IS NOT NULL GROUP BY 1",
            p,
        ),
        (
            "touchpoint_pivot",
            f"SELECT customer_id, avg(score) FILTER (WHERE score_kind = 'csat'), avg(score) FILTER (WHERE score_kind = 'ces' AND touchpoint_id = (SELECT min(id) FROM journeys_touchpoint WHERE key = 'phone-support')), avg(score) FILTER (WHERE score_kind = 'ces' AND touchpoint_id = (SELECT min(id) FROM journeys_touchpoint WHERE key = 'chat-support')) FROM surveys_response WHERE {W} AND customer_id IN (SELECT customer_id FROM surveys_response WHERE {W} AND score_kind = 'nps') GROUP BY 1",
            p,
        ),
    ]
    return {
        "overview": overview,
        "journey": journey,
        "retention": retention,
        "value": value,
        "drivers": drivers,
    }


def time_hand_sql(org, repeat: int) -> dict[str, float]:
    from django.db import connection

    from metrics.filters import MetricFilters

    filters = MetricFilters()
    start, end = filters.window(org)
    prev_start, _ = filters.previous(org).window(org)
    plan = hand_sql(org.pk, org.time_zone, start.isoformat(), end.isoformat(), prev_start.isoformat())
    best: dict[str, float] = {}
    for _ in range(repeat):
        for dashboard, queries in plan.items():
            started = time.perf_counter()
            with connection.cursor() as c:
                for _label, sql, params in queries:
                    c.execute(sql, params)
                    c.fetchall()
            elapsed = time.perf_counter() - started
            best[dashboard] = min(best.get(dashboard, elapsed), elapsed)
    return best


def time_recompute(org, repeat: int) -> tuple[float, dict[str, float], float]:
    from metrics import services

    totals, per, writes = [], {}, []
    for _ in range(repeat):
        started = time.perf_counter()
        durations = services.dashboards_recompute(organization=org)
        total = time.perf_counter() - started
        totals.append(total)
        customer_values_ms = durations.pop("customer_values", 0)
        durations = {**durations, "value": durations["value"] + customer_values_ms}
        for name, ms in durations.items():
            per[name] = min(per.get(name, ms / 1000), ms / 1000)
        writes.append(total - sum(durations.values()) / 1000)
    return min(totals), per, min(writes)


def logged_in_client(org, username: str = "bench@example.com"):
    """A Django test client logged in as an owner of the organization."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from cxm.tenancy.models import Membership

    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"email": username})
    Membership.objects.get_or_create(organization=org, user=user, defaults={"role": "owner"})
    client = Client()
    client.force_login(user)
    return client


def time_pages(org, requests: int) -> dict[str, dict[str, float]]:
    client = logged_in_client(org)
    result = {}
    for url in (
        "/dashboards/",
        "/dashboards/journey/",
        "/dashboards/retention/",
        "/dashboards/value/",
        "/dashboards/drivers/",
    ):
        client.get(url)
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        samples.sort()
        result[url] = {
            "p50": statistics.median(samples),
            "p95": samples[int(0.95 * (len(samples) - 1))],
            "max": samples[-1],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-metrics.md"))
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_metrics_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.test")
    os.environ.pop("REDIS_URL", None)
    if not args.skip_load:
        prepare_database(url)
    import django

    django.setup()
    from django.test.utils import override_settings

    from cxm.tenancy.models import Organization
    from metrics.services import clv_fit

    load_timings = {}
    if not args.skip_load:
        load_timings = load(args.scale)
    org = Organization.objects.get(slug="bench")
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "SELECT (SELECT count(*) FROM surveys_response), (SELECT count(*) FROM journeys_interaction), (SELECT count(*) FROM journeys_transaction), (SELECT count(*) FROM journeys_customer)"
        )
        counts = c.fetchone()
    print("rows: responses, interactions, orders, customers =", counts, flush=True)
    from datetime import timedelta

    from django.utils import timezone

    started = time.perf_counter()
    clv_fit(organization=org, calibration_end=timezone.localdate() - timedelta(days=90), period="week")
    fit_seconds = time.perf_counter() - started
    print(f"clv fit {fit_seconds:.1f}s", flush=True)
    with override_settings(METRICS_RECOMPUTE_ON_SIGNAL=False):
        recompute_total, recompute_per, write_seconds = time_recompute(org, args.repeat)
    print(f"recompute {recompute_total:.1f}s {recompute_per} writes {write_seconds:.1f}s", flush=True)
    hand = time_hand_sql(org, args.repeat)
    print("hand sql", hand, flush=True)
    pages = time_pages(org, args.requests)
    print("pages", pages, flush=True)
    hand_total = sum(hand.values())
    compute_total = sum(recompute_per.values())
    lines = [
        "# Metrics benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, PostgreSQL on localhost. Data: {counts[0]:,} responses, {counts[1]:,} interactions,",
        f"{counts[2]:,} orders (4 % refunds), {counts[3]:,} customers, one organization (Asia/Shanghai).",
        "",
        "Reproduce: `BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_metrics_bench .venv/bin/python bench/metrics_recompute.py`",
        "",
        "## Load (INSERT … SELECT generate_series)",
        "",
        "| table | seconds |",
        "| --- | ---: |",
        *[f"| {k} | {v:.1f} |" for k, v in load_timings.items()],
        "",
        f"## Full recompute vs hand-written SQL (best of {args.repeat})",
        "",
        "| dashboard | recompute (ORM + pandas), s | hand-written SQL, s | ratio |",
        "| --- | ---: | ---: | ---: |",
        *[
            f"| {name} | {recompute_per[name]:.2f} | {hand[name]:.2f} | {recompute_per[name] / hand[name]:.2f} |"
            for name in hand
        ],
        f"| **all dashboards (computation)** | **{compute_total:.2f}** | **{hand_total:.2f}** | **{compute_total / hand_total:.2f}** |",
        "",
        f"Full recompute end to end (computation + storing 5 snapshots and {counts[3]:,} per-customer rows with COPY, one transaction): "
        f"**{recompute_total:.1f} s**; of which writing {write_seconds:.1f} s. Ratio end to end vs hand SQL: {recompute_total / hand_total:.2f}.",
        f"CLV fit (BG/NBD + Gamma-Gamma, weekly periods, calibration 90 days ago): {fit_seconds:.1f} s.",
        "",
        f"## Dashboard pages served from snapshots (Django test client, in-process server time, {args.requests} requests each)",
        "",
        "| page | p50 ms | p95 ms | max ms |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {url} | {v['p50']:.1f} | {v['p95']:.1f} | {v['max']:.1f} |" for url, v in pages.items()],
        "",
    ]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
