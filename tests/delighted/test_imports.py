from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from delighted_api.imports import delighted_import
from delighted_api.models import ResponseAnnotation
from journeys.models import Customer
from surveys.models import Response

pytestmark = pytest.mark.django_db

PEOPLE_CSV = """Person ID,Email,Name,Phone number,Created at,Plan
101,ann@example.com,Ann,,2025-01-02 10:00:00 UTC,gold
102,bob@example.com,Bob,+15550002,2025-01-03 10:00:00 UTC,
103,,Nobody,,2025-01-03 10:00:00 UTC,
"""
RESPONSES_CSV = """Response ID,Date,Score,Comment,Email,Name,Tags,Region
9001,2025-02-01 12:00:00 UTC,10,Love it,ann@example.com,Ann,"fast, friendly",EU
9002,2025-02-02 12:00:00 UTC,3,Too slow,bob@example.com,Bob,,US
9003,2025-02-03 12:00:00 UTC,eleven,?,ann@example.com,Ann,,EU
9004,not a date,7,,ann@example.com,Ann,,EU
"""


def test_people_then_responses_csv_idempotent(organization, survey):
    result = delighted_import(
        organization=organization, survey=survey, content=PEOPLE_CSV, fmt="csv", kind="people"
    )
    assert (result.people_created, result.people_updated) == (2, 0)
    assert [e["row"] for e in result.errors] == [3]
    ann = Customer.objects.for_organization(organization).get(email="ann@example.com")
    assert ann.name == "Ann"
    result = delighted_import(organization=organization, survey=survey, content=RESPONSES_CSV, fmt="csv")
    assert result.responses_created == 2
    assert [e["row"] for e in result.errors] == [3, 4]
    assert "score" in result.errors[0]["message"] and "created_at" in result.errors[1]["message"]
    stored = Response.objects.for_organization(organization).filter(survey=survey).order_by("submitted_at")
    assert [(r.score, r.comment, r.customer_id) for r in stored] == [
        (10, "Love it", ann.pk),
        (3, "Too slow", stored[1].customer_id),
    ]
    assert stored[0].submitted_at.isoformat() == "2025-02-01T12:00:00+00:00"
    assert stored[0].hidden_fields == {"Region": "EU"}
    assert ResponseAnnotation.objects.for_organization(organization).get(response=stored[0]).tags == [
        "fast",
        "friendly",
    ]
    again = delighted_import(organization=organization, survey=survey, content=RESPONSES_CSV, fmt="csv")
    assert (again.responses_created, again.responses_unchanged) == (0, 2)
    assert Response.objects.for_organization(organization).count() == 2


def test_jsonl_pages_with_person_ids(organization, survey, tmp_path, capsys):
    delighted_import(organization=organization, survey=survey, content=PEOPLE_CSV, fmt="csv", kind="people")
    pages = [
        [
            {
                "id": "1",
                "person": "101",
                "score": 9,
                "comment": "ok",
                "created_at": 1738400000,
                "person_properties": {"Plan": "gold"},
                "tags": ["a"],
            },
            {
                "id": "2",
                "person": {"id": "555", "email": "new@example.com", "name": "New"},
                "score": 6,
                "created_at": 1738400100,
            },
        ],
        [{"id": "3", "person": "999", "score": 5, "created_at": 1738400200}],
    ]
    path = tmp_path / "responses.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in pages) + "\nnot json\n")
    with pytest.raises(Exception, match="Line 3 is not JSON"):
        call_command("import_delighted", str(path), organization=organization.slug, survey=survey.pk)
    path.write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    call_command("import_delighted", str(path), organization=organization.slug, survey=survey.pk)
    out = json.loads(capsys.readouterr().out)
    assert out["responses_created"] == 2 and [e["row"] for e in out["errors"]] == [3]
    ann = Customer.objects.for_organization(organization).get(email="ann@example.com")
    first = Response.objects.for_organization(organization).get(customer=ann)
    assert (first.score, first.hidden_fields) == (9, {"Plan": "gold"})
    assert (
        Customer.objects.for_organization(organization).filter(email="new@example.com", name="New").exists()
    )
    call_command("import_delighted", str(path), organization=organization.slug, survey=survey.pk)
    assert json.loads(capsys.readouterr().out)["responses_unchanged"] == 2
