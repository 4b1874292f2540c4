from __future__ import annotations

import io

import pytest
from django.db.models import Avg

from surveys import demo
from surveys.models import Answer, Response, Survey

pytestmark = pytest.mark.django_db


def test_demo_seed_is_idempotent_and_realistic(organization):
    demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    counts = (
        Survey.objects.unscoped().count(),
        Response.objects.unscoped().count(),
        Answer.objects.unscoped().count(),
    )
    demo.seed(organization=organization, stdout=io.StringIO(), size="small")
    assert (
        Survey.objects.unscoped().count(),
        Response.objects.unscoped().count(),
        Answer.objects.unscoped().count(),
    ) == counts
    assert counts[0] == 7 and 250 <= counts[1] <= 350
    kinds = set(Response.objects.unscoped().values_list("score_kind", flat=True))
    assert kinds == {"nps", "csat", "ces"}
    assert Response.objects.unscoped().filter(locale="zh-hans").exclude(comment="").exists()
    assert Response.objects.unscoped().filter(locale="en").exclude(comment="").exists()
    assert set(Survey.objects.unscoped().values_list("status", flat=True)) == {"active"}
    assert Survey.objects.unscoped().get(name="Delivery CSAT").touchpoint.key == "home-delivery"
    # Denormalised score equals the primary answer.
    for response in Response.objects.unscoped().all()[:20]:
        assert response.answers.filter(number=response.score).exists()
    # Nobody answers before the business first met them.
    from django.db.models import F

    assert not Response.objects.unscoped().filter(submitted_at__lt=F("customer__first_seen_at")).exists()
    mean = Response.objects.unscoped().filter(score_kind="nps").aggregate(m=Avg("score"))["m"]
    assert 5 < mean < 9.5
