#!/usr/bin/env python
"""Export of 1,000,000 responses (and their answers) as CSV and XLSX through the response list's export URLs.

In-process with Django's test client (production settings, PostgreSQL): a manager of the
organization downloads `/surveys/responses/export.csv` and `.xlsx`; the script consumes the
streamed body and reports the time and how much the process's peak resident memory grew.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_surveys_export \\
        .venv/bin/python bench/surveys_export.py [--responses 1000000]

The database named in DATABASE_URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_surveys_export")
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="cxm.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
        REDIS_URL="",
    )
    import psycopg2

    parsed = urlparse(url)
    admin = psycopg2.connect(parsed._replace(path="/postgres").geturl())
    admin.autocommit = True
    with admin.cursor() as cursor:
        name = parsed.path.lstrip("/")
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    from cxm.tenancy.services import organization_create
    from surveys import services
    from tests.factories import UserFactory

    organization = organization_create(slug="bench", name="Bench")
    survey = services.survey_create_from_template(organization=organization, template="nps")
    user = UserFactory()
    from cxm.tenancy.models import Membership

    Membership.objects.create(organization=organization, user=user, role="owner")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO surveys_response (organization_id, survey_id, channel, locale, page_url,
                   idempotency_key, hidden_fields, score_kind, score, comment, submitted_at, updated_at)
               SELECT %s, %s, 'widget', 'en', 'https://shop.example.com/checkout', 'k' || n, '{}', 'nps',
                      n %% 11, CASE WHEN n %% 4 = 0 THEN 'Delivery was late, item ' || n ELSE '' END,
                      now() - (n || ' seconds')::interval, now()
               FROM generate_series(1, %s) AS n""",
            [organization.id, survey.id, args.responses],
        )
        # Every response answers the score question; those with a comment answer the follow-up too
        # (the export has one column per question).
        score_q, follow_up = survey.questions.order_by("position").values_list("id", flat=True)[:2]
        cursor.execute(
            """INSERT INTO surveys_answer (organization_id, response_id, question_id, number, text, choices)
               SELECT organization_id, id, %s, score, '', '[]'::jsonb FROM surveys_response WHERE survey_id = %s
               UNION ALL
               SELECT organization_id, id, %s, NULL, comment, '[]'::jsonb FROM surveys_response
               WHERE survey_id = %s AND comment <> ''""",
            [score_q, survey.id, follow_up, survey.id],
        )
    print(f"{args.responses:,} responses loaded in {time.perf_counter() - started:.1f} s", flush=True)
    setup_test_environment()
    client = Client()
    client.force_login(user)
    for fmt in ("csv", "xlsx"):
        before = peak_mib()
        began = time.perf_counter()
        response = client.get(f"/surveys/responses/export.{fmt}", secure=True)
        assert response.status_code == 200, response.status_code
        size = 0
        lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            if fmt == "csv":
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - began
        rows = f", {lines - 1:,} rows" if fmt == "csv" else ""
        print(
            f"{fmt}: {size / 1e6:,.1f} MB{rows} in {elapsed:.1f} s; "
            f"peak RSS {before:.0f} -> {peak_mib():.0f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
