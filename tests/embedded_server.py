"""`make run`'s server (local settings, a SQLite file under CXM_VAR_DIR, no broker) for
tests/core/test_embedded_server.py, with every dashboard recompute held at two points the test opens
by creating files in CXM_VAR_DIR: `compute-go` (after the claim, before computing) and `write-go`
(inside the write transaction, before the snapshots are stored).

    python -m tests.embedded_server setup          # prints the demo survey, question and a session
    python -m tests.embedded_server serve ADDRPORT  # runserver, threaded, no reloader
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxm.settings.local")
# The beat schedule (sweeps, the quarter-hour recompute) has tests of its own; here it would only
# add runs the held recompute does not expect.
os.environ.setdefault("CXM_EMBEDDED_BEAT", "0")

import django  # noqa: E402

django.setup()

VAR = Path(os.environ["CXM_VAR_DIR"])


def _wait_for(name: str) -> None:
    while not (VAR / name).exists():
        time.sleep(0.02)


def setup() -> None:
    from django.test import Client

    from cxm.tenancy.models import Organization
    from surveys.models import Survey

    organization = Organization.objects.get(slug="demo")
    survey = (
        Survey.objects.unscoped().filter(organization=organization, status="active").order_by("id").first()
    )
    assert survey is not None
    question = survey.questions.filter(kind="nps").first() or survey.questions.first()
    assert question is not None
    client = Client()
    client.force_login(organization.memberships.first().user)
    print(
        json.dumps(
            {
                "public_id": survey.public_id,
                "question": question.pk,
                "kind": question.kind,
                "session": client.cookies["sessionid"].value,
            }
        )
    )


def serve(addrport: str) -> None:
    from django.core.management import call_command

    from metrics.services import snapshots as services

    compute, store = services.dashboards_compute, services.snapshots_store

    def held_compute(**kwargs: Any) -> Any:
        (VAR / "computing").touch()
        _wait_for("compute-go")
        return compute(**kwargs)

    def held_store(**kwargs: Any) -> None:
        (VAR / "writing").touch()
        _wait_for("write-go")
        store(**kwargs)

    services.dashboards_compute = held_compute  # type: ignore[assignment]
    services.snapshots_store = held_store  # type: ignore[assignment]
    call_command("runserver", addrport, use_reloader=False, use_threading=True)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    else:
        serve(sys.argv[2])
