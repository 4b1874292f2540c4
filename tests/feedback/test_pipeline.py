"""The analysis pipeline: new comments analysed after commit, versions, the switch, the backfill."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from feedback import services
from feedback.models import FeedbackRecord, TextAnalysis, TextSettings, ThemeMention
from feedback.selectors import analyses, served_version, text_status
from feedback.text import default_taxonomy

from .helpers import Comments, record

pytestmark = pytest.mark.django_db


def test_a_new_response_comment_and_a_feedback_record_are_analysed(organization, settings):
    comments = Comments(organization)
    response = comments.add(3, "The delivery was late and the courier was rude")
    record(organization, "r1", "物流很快但是东西坏了")

    services.text_pending_analyse(organization_id=organization.pk)

    version = served_version(organization=organization)
    assert version
    rows = {row.response_id or row.record.external_id: row for row in analyses(organization=organization)}
    assert rows[response.pk].language == "en" and rows[response.pk].sentiment == "negative"
    assert {m.theme for m in rows[response.pk].mentions.all()} >= {"delivery"}
    chinese = rows["r1"]
    assert chinese.language == "zh" and chinese.source == "" and chinese.channel == "review_site"
    themes = {m.theme: m.sentiment for m in chinese.mentions.all()}
    assert themes["delivery"] == "positive" and themes["product_quality"] == "negative"
    assert "物流" in chinese.search_text.split()
    # Running again analyses nothing twice.
    assert services.text_pending_analyse(organization_id=organization.pk)["analysed"] == 0
    assert TextAnalysis.objects.for_organization(organization).count() == 2


def test_the_response_recorded_signal_queues_the_analysis(organization, django_capture_on_commit_callbacks):
    from surveys.signals import response_recorded

    comments = Comments(organization)
    comments.add(9, "great price")
    with django_capture_on_commit_callbacks(execute=True):
        response_recorded.send(
            sender=None, organization_id=organization.pk, response_ids=[1]
        )  # eager in tests
    assert analyses(organization=organization).get().sentiment == "positive"


def test_a_taxonomy_change_keeps_serving_the_old_results_until_the_new_version_is_complete(
    organization, settings
):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False  # the test drives the batches
    comments = Comments(organization)
    for text in ("slow delivery", "delivery was fast", "the parcel box was crushed"):
        comments.add(5, text)
    services.text_pending_analyse(organization_id=organization.pk)
    old = served_version(organization=organization)
    assert ThemeMention.objects.for_organization(organization).filter(theme="packaging").count() == 0

    taxonomy = default_taxonomy().as_dict()
    taxonomy["themes"].append(
        {"key": "packaging", "name_en": "Packaging", "name_zh": "包装", "phrases_en": ["box"]}
    )
    services.taxonomy_update(organization=organization, data=taxonomy)
    status = text_status(organization=organization)
    assert status["reanalysing"] and status["served_version"] == old and status["total"] == 3

    outcome = services.text_pending_analyse(organization_id=organization.pk, batch_size=1, max_batches=1)
    assert outcome["left"] is True
    # Reads still serve the old, complete version: three comments, no packaging theme.
    assert served_version(organization=organization) == old
    assert analyses(organization=organization).count() == 3
    assert (
        not ThemeMention.objects.for_organization(organization)
        .filter(version=old, theme="packaging")
        .exists()
    )

    services.text_pending_analyse(organization_id=organization.pk)
    new = served_version(organization=organization)
    assert new != old and new == TextSettings.objects.for_organization(organization).get().target_version
    assert analyses(organization=organization).count() == 3
    assert set(TextAnalysis.objects.for_organization(organization).values_list("version", flat=True)) == {new}
    assert (
        ThemeMention.objects.for_organization(organization).filter(version=new, theme="packaging").count()
        == 1
    )
    assert text_status(organization=organization)["reanalysing"] is False


def test_the_backfill_command_analyses_every_comment_with_progress(organization, settings, capsys):
    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    comments = Comments(organization)
    for index in range(7):
        comments.add(8, f"friendly staff number {index}")
    record(organization, "x", "客服态度很好")
    call_command("text_backfill", "--org", organization.slug, "--batch-size", "3")
    output = capsys.readouterr().out
    assert "8/8" in output
    assert analyses(organization=organization).count() == 8


def test_bad_taxonomy_is_refused_with_a_reason(organization):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="key"):
        services.taxonomy_update(organization=organization, data={"themes": [{"name_en": "x"}]})
    with pytest.raises(ValidationError, match="twice"):
        services.taxonomy_update(organization=organization, data={"themes": [{"key": "a"}, {"key": "a"}]})


def test_erasing_a_customer_removes_their_comments_from_the_text_layer(
    organization, settings, django_capture_on_commit_callbacks
):
    from journeys.services import customer_erase
    from tests.journeys.factories import CustomerFactory

    settings.FEEDBACK_ANALYSE_ON_SIGNAL = False
    customer = CustomerFactory(organization=organization)
    comments = Comments(organization)
    response = comments.add(3, "my name is Ann and the delivery was late")
    response.customer = customer
    response.save()
    record(organization, "theirs", "物流太慢了，我叫张三", customer=customer)
    comments.add(9, "great price")
    services.text_pending_analyse(organization_id=organization.pk)
    assert analyses(organization=organization).count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        customer_erase(customer=customer)

    left = analyses(organization=organization)
    assert [row.search_text for row in left] == ["great price"]
    stored = FeedbackRecord.objects.for_organization(organization).get(external_id="theirs")
    assert stored.text == ""
    services.text_pending_analyse(organization_id=organization.pk)
    assert analyses(organization=organization).count() == 1  # nothing of theirs comes back
