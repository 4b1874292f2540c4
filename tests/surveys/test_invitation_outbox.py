"""Invitations are an outbox: with the broker down the Share page and the API still create them
(queued, no error), beat's sweep sends them once it is back, each exactly once (also when sends
race), and after a bounded number of attempts fails them with a reason."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone, translation
from django.utils.translation import gettext

from journeys.models import Customer
from surveys import services
from surveys.models import Invitation, InvitationStatus
from tests.surveys.factories import InvitationFactory
from tests.workers import send_to_a_dead_broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    send_to_a_dead_broker(monkeypatch)


def broker_back(monkeypatch):
    """The broker answers again (here: tasks run in-process)."""
    from cxm.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


def after_the_grace_period():
    return timezone.now() + services.INVITATION_UNSENT_AFTER + timedelta(seconds=1)


# Real commits: the send is tried when the request's transaction commits, before the page is made.
@pytest.mark.django_db(transaction=True)
def test_the_share_page_queues_invitations_while_the_broker_is_down_and_the_sweep_sends_them_later(
    owner_client, nps_survey, customer, broker_down, monkeypatch, caplog
):
    with caplog.at_level("WARNING", logger="surveys.services"):
        response = owner_client.post(
            f"/surveys/{nps_survey.pk}/share/", {"customers": [customer.pk], "language": "en"}, follow=True
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 invitations queued; 0 customers skipped" in page
    notice = "The task queue cannot be reached right now; the invitations are sent as soon as it is back."
    assert notice in page
    with translation.override("zh-hans"):
        assert gettext(notice) == "任务队列暂时无法连接；恢复后邀请将立即发送。"
    invitation = Invitation.objects.unscoped().get()
    assert (invitation.status, invitation.dispatched_at, invitation.attempts) == ("queued", None, 0)
    assert '<div class="label">Queued</div><div class="value">1</div>' in page
    assert any("the broker is unreachable" in r.getMessage() for r in caplog.records)
    assert mail.outbox == []

    # Still down: the sweep tries, nothing changes.
    later = after_the_grace_period()
    assert services.invitations_sweep(now=later) == {"sent": 0, "failed": 0}
    assert Invitation.objects.unscoped().get().status == "queued" and mail.outbox == []

    broker_back(monkeypatch)
    assert services.invitations_sweep(now=later) == {"sent": 1, "failed": 0}
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == ("sent", 1) and invitation.sent_at is not None
    assert [m.to for m in mail.outbox] == [["li@example.com"]]
    # Sent once: later sweeps leave it alone.
    far_later = later + services.INVITATION_REQUEUE_AFTER + timedelta(minutes=1)
    assert services.invitations_sweep(now=far_later) == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 1


def test_with_the_broker_up_the_share_page_sends_at_once_and_says_nothing_of_the_queue(
    owner_client, nps_survey, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/surveys/{nps_survey.pk}/share/", {"customers": [customer.pk], "language": "en"}, follow=True
        )
    page = response.content.decode()
    assert "1 invitations queued; 0 customers skipped" in page and "task queue" not in page
    invitation = Invitation.objects.unscoped().get()
    assert (invitation.status, invitation.attempts) == ("sent", 1) and invitation.dispatched_at is not None
    assert [m.to for m in mail.outbox] == [["li@example.com"]]


def test_the_api_creates_invitations_while_the_broker_is_down_and_each_is_sent_once_later(
    api_client,
    nps_survey,
    customer,
    organization,
    broker_down,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    Customer.objects.create(organization=organization, external_id="C2", email="c2@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client.post(
            "/api/v1/invitations", {"survey": nps_survey.pk, "customers": ["C00001", "C2"]}, format="json"
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert sorted((i["customer"], i["status"]) for i in body["invitations"]) == [
        ("C00001", "queued"),
        ("C2", "queued"),
    ]
    pk = body["invitations"][0]["id"]
    assert api_client.get(f"/api/v1/invitations/{pk}").json()["status"] == "queued"

    # The sweep leaves invitations just created to their own send.
    assert services.invitations_sweep(dispatch=lambda ids: pytest.fail("sent too early")) == {
        "sent": 0,
        "failed": 0,
    }
    broker_back(monkeypatch)
    later = after_the_grace_period()
    assert services.invitations_sweep(now=later) == {"sent": 2, "failed": 0}
    assert services.invitations_sweep(now=later) == {"sent": 0, "failed": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["c2@example.com", "li@example.com"]
    assert api_client.get(f"/api/v1/invitations/{pk}").json()["status"] == "sent"


def test_a_failing_email_is_tried_again_then_failed_with_a_reason(
    nps_survey, customer, monkeypatch, django_capture_on_commit_callbacks
):
    def refused(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refused)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitations_create(survey=nps_survey, customers=[customer]).invitations[0]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == ("queued", 1)
    assert invitation.error == "Connection unexpectedly closed" and invitation.sending_at is None

    now = timezone.now()
    # Sent again only once the last send is INVITATION_REQUEUE_AFTER old.
    assert services.invitations_sweep(now=now + timedelta(minutes=5)) == {"sent": 0, "failed": 0}
    for attempt in range(2, services.INVITATION_MAX_ATTEMPTS + 1):
        now += services.INVITATION_REQUEUE_AFTER + timedelta(minutes=1)
        assert services.invitations_sweep(now=now) == {"sent": 1, "failed": 0}
        invitation.refresh_from_db()
        assert (invitation.status, invitation.attempts) == ("queued", attempt)

    now += services.INVITATION_REQUEUE_AFTER + timedelta(minutes=1)
    assert services.invitations_sweep(now=now) == {"sent": 0, "failed": 1}
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED
    assert invitation.error == "Not sent after 3 attempts: Connection unexpectedly closed"
    assert mail.outbox == []
    assert services.invitations_sweep(now=now + timedelta(days=1)) == {"sent": 0, "failed": 0}


def test_lost_messages_and_interrupted_sends_are_not_left_queued(nps_survey, customer):
    long_ago = timezone.now() - timedelta(hours=2)
    lost = InvitationFactory(
        survey=nps_survey,
        customer=customer,
        dispatched_at=long_ago,
        attempts=services.INVITATION_MAX_ATTEMPTS,
        created_at=long_ago,
    )
    interrupted = InvitationFactory(
        survey=nps_survey, dispatched_at=long_ago, sending_at=long_ago, attempts=1, created_at=long_ago
    )
    too_old = InvitationFactory(
        survey=nps_survey,
        created_at=timezone.now() - services.INVITATION_EXPIRES_AFTER - timedelta(minutes=1),
    )
    assert services.invitations_sweep(dispatch=lambda ids: pytest.fail(f"{ids} sent")) == {
        "sent": 0,
        "failed": 3,
    }
    lost.refresh_from_db()
    interrupted.refresh_from_db()
    too_old.refresh_from_db()
    assert (too_old.status, too_old.error) == (
        "failed",
        "Not sent within 7 days of its creation: too late to ask.",
    )
    assert (lost.status, lost.error) == ("failed", "Not sent after 3 attempts: no worker took the send task.")
    assert interrupted.status == "failed" and interrupted.error.startswith("The send was interrupted")
    assert mail.outbox == []


def test_a_send_racing_another_never_emails_twice(nps_survey, customer, monkeypatch):
    invitation = InvitationFactory(
        survey=nps_survey, customer=customer, created_at=timezone.now() - timedelta(hours=1)
    )
    real_send, nested = EmailBackend.send_messages, []

    def while_sending(self, messages):
        # Another send of the same invitation, and a sweep, start while this one is emailing it.
        nested.append(services.invitation_send(invitation_id=invitation.pk))
        nested.append(services.invitations_sweep(dispatch=lambda ids: pytest.fail(f"{ids} sent again")))
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", while_sending)
    assert services.invitation_send(invitation_id=invitation.pk) == "sent"
    assert nested == ["ignored", {"sent": 0, "failed": 0}]
    assert services.invitation_send(invitation_id=invitation.pk) == "ignored"
    assert len(mail.outbox) == 1 and Invitation.objects.unscoped().get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_invitation_once(postgres, organization, nps_survey):
    from django.db import connection

    customers = Customer.objects.bulk_create(
        Customer(organization=organization, external_id=f"R{k}", email=f"r{k}@example.com") for k in range(20)
    )
    long_ago = timezone.now() - timedelta(hours=1)
    Invitation.objects.bulk_create(
        Invitation(organization=organization, survey=nps_survey, customer=c, created_at=long_ago)
        for c in customers
    )
    start, outcomes = threading.Barrier(2), []

    def send_here(ids):
        # What the send task does, run by each sweep's own thread (Celery's eager mode keeps
        # process-wide state that two threads at once would leave wrong).
        for invitation_id in ids:
            services.invitation_send(invitation_id=invitation_id)
        return True

    def sweep():
        try:
            start.wait(timeout=60)
            outcomes.append(services.invitations_sweep(dispatch=send_here))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"r{k}@example.com" for k in range(20))
    assert set(Invitation.objects.unscoped().values_list("status", flat=True)) == {"sent"}


def test_the_sweep_runs_on_beat():
    from cxm.celery import app
    from surveys.tasks import sweep_invitations

    entry = app.conf.beat_schedule["surveys-sweep-invitations"]
    assert entry["task"] == sweep_invitations.name == "surveys.tasks.sweep_invitations"
    assert entry["options"]["expires"] < entry["schedule"]
    assert app.tasks[entry["task"]].name == entry["task"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_swept_invitations_once(postgres, redis_url, organization, nps_survey):
    from tests.journeys.test_import_worker import _database_url
    from tests.waiting import GENEROUS
    from tests.workers import celery_worker

    customers = Customer.objects.bulk_create(
        Customer(organization=organization, external_id=f"W{k}", email=f"w{k}@example.com") for k in range(3)
    )
    created = services.invitations_create(survey=nps_survey, customers=customers, send=False).invitations
    ids = sorted(i.pk for i in created)
    later = after_the_grace_period()
    with celery_worker(redis_url=redis_url, DATABASE_URL=_database_url()) as (app, queue):
        results = []

        def to_the_worker(batch):
            results.append(app.send_task("surveys.tasks.send_invitation_emails", args=[batch], queue=queue))
            return True

        # Two sweeps send the same invitations (the fake dispatch notes no send): two messages.
        assert services.invitations_sweep(now=later, dispatch=to_the_worker) == {"sent": 3, "failed": 0}
        assert services.invitations_sweep(now=later, dispatch=to_the_worker) == {"sent": 3, "failed": 0}
        outcomes = [result.get(timeout=GENEROUS) for result in results]
    assert outcomes == [{"sent": 3}, {"ignored": 3}]
    sent = Invitation.objects.unscoped().filter(pk__in=ids)
    assert set(sent.values_list("status", flat=True)) == {"sent"}
    assert all(i.sent_at is not None and i.sending_at is not None for i in sent)
