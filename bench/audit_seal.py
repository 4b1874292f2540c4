#!/usr/bin/env python
"""The audit trail and the response seals at scale: appending audit events one by one, sealing a
backlog of responses (what the beat task does, in batches), and verifying them (what an export does).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxm_audit_bench \\
        nice -n 5 .venv/bin/python bench/audit_seal.py [--responses 100000] [--events 2000]

The database named in DATABASE_URL is dropped and created again.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cxm_audit_bench")
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

    call_command("migrate", verbosity=0)
    from cxm.audit.sealing import response_seals_verify
    from cxm.audit.services import audit_chain_verify, audit_record
    from cxm.tenancy.services import organization_create
    from surveys import services
    from surveys.sealing import responses_seal_pending

    organization = organization_create(slug="bench", name="Bench")
    survey = services.survey_create_from_template(organization=organization, template="nps")
    began = time.perf_counter()
    for n in range(args.events):
        audit_record(
            organization=organization,
            action="survey.update",
            object_type="survey",
            object_id=survey.pk,
            before={"name": f"v{n}"},
            after={"name": f"v{n + 1}"},
        )
    elapsed = time.perf_counter() - began
    print(
        f"{args.events:,} audit events appended one by one in {elapsed:.2f} s "
        f"({1000 * elapsed / args.events:.2f} ms each)",
        flush=True,
    )
    began = time.perf_counter()
    report = audit_chain_verify(organization_id=organization.pk)
    assert report.ok, report.problems
    print(
        f"audit chain of {report.checked + 2:,} events verified in {time.perf_counter() - began:.2f} s",
        flush=True,
    )

    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO surveys_response (organization_id, survey_id, channel, locale, page_url,
                   idempotency_key, hidden_fields, score_kind, score, comment, submitted_at, updated_at)
               SELECT %s, %s, 'widget', 'en', '', 'k' || n, '{}', 'nps', n %% 11,
                      CASE WHEN n %% 4 = 0 THEN 'Delivery was late, item ' || n ELSE '' END,
                      now() - (n || ' seconds')::interval, now() - interval '1 hour'
               FROM generate_series(1, %s) AS n""",
            [organization.id, survey.id, args.responses],
        )
        score_q = survey.questions.order_by("position").values_list("id", flat=True)[0]
        cursor.execute(
            """INSERT INTO surveys_answer (organization_id, response_id, question_id, number, text, choices)
               SELECT organization_id, id, %s, score, '', '[]'::jsonb FROM surveys_response WHERE survey_id = %s""",
            [score_q, survey.id],
        )
        cursor.execute("ANALYZE")
    began = time.perf_counter()
    sealed = responses_seal_pending(organization_id=organization.pk, full=True, limit=10**9)
    elapsed = time.perf_counter() - began
    print(f"{sealed:,} responses sealed in {elapsed:.1f} s ({sealed / elapsed:,.0f}/s)", flush=True)
    began = time.perf_counter()
    again = responses_seal_pending(organization_id=organization.pk)
    print(
        f"the next beat run (nothing new) took {time.perf_counter() - began:.2f} s, sealed {again}",
        flush=True,
    )
    began = time.perf_counter()
    seals = response_seals_verify(organization_id=organization.pk)
    elapsed = time.perf_counter() - began
    assert seals.ok, seals.as_metadata()
    print(
        f"{seals.checked:,} sealed responses verified in {elapsed:.1f} s ({seals.checked / elapsed:,.0f}/s)",
        flush=True,
    )


if __name__ == "__main__":
    main()
