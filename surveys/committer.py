"""Group commit for new responses: one transaction for the submissions that arrive together.

A request thread validates its submission, hands the rows to this process's committer thread and
waits until they are committed; only then does it answer 2xx. While one batch commits, the next
requests queue up and go in the following transaction, so under load many responses share one
commit (and one WAL flush) instead of paying for one each. A submission whose idempotency key
already exists, or a batch that fails, goes back to the request thread, which takes the ordinary
one-transaction-per-request path.

Enabled with CXM_SURVEYS_GROUP_COMMIT=1 on PostgreSQL (e.g. under gunicorn gthread workers).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction

logger = logging.getLogger("cxm.surveys")

MAX_BATCH = 256
WAIT_TIMEOUT = 10.0


def group_commit_enabled() -> bool:
    return os.environ.get("CXM_SURVEYS_GROUP_COMMIT") == "1" and connection.vendor == "postgresql"


@dataclass
class PendingResponse:
    organization_id: int
    survey_id: int
    customer_id: int | None
    touchpoint_id: int | None
    channel: str
    locale: str
    page_url: str
    idempotency_key: str
    hidden_fields: dict[str, Any]
    score_kind: str
    score: int | None
    comment: str
    submitted_at: datetime
    answers: list[tuple[int, int | None, str, list[str]]]  # (question id, number, text, choices)
    response_id: int | None = None
    failed: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: queue.Queue[PendingResponse] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _ensure_thread(self) -> None:
        # Started lazily, and again after a fork (gunicorn workers), never shared across processes.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.Queue()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="surveys-committer", daemon=True)
                self._thread.start()

    def submit(self, item: PendingResponse) -> int | None:
        """The committed response id, or None: take the ordinary path (existing key, or a failure)."""
        self._ensure_thread()
        self._queue.put(item)
        if not item.done.wait(WAIT_TIMEOUT):
            # Not acknowledged: the caller answers an error; the idempotency key makes a retry safe.
            raise TimeoutError("the response was not committed in time")
        return None if item.failed else item.response_id

    def close(self) -> None:
        """Stop the thread and close its connection (tests; a process exiting needs nothing)."""
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            self._queue.put(None)  # type: ignore[arg-type]
            thread.join(10)
        self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                connection.close()
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # type: ignore[arg-type]
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except Exception:  # noqa: BLE001  (the request threads fall back, nothing is lost)
                logger.exception("group commit failed; falling back to single commits")
                for item in batch:
                    item.response_id = None
                    item.failed = True
                try:
                    connection.close()
                except Exception:  # noqa: BLE001, S110  (already broken; the next batch reconnects)
                    pass
            finally:
                for item in batch:
                    item.done.set()

    def _commit(self, batch: list[PendingResponse]) -> None:
        from psycopg2.extras import execute_values

        with transaction.atomic():
            with connection.cursor() as cursor:
                raw = cursor.cursor
                rows = [
                    (
                        i.organization_id,
                        i.survey_id,
                        i.customer_id,
                        i.touchpoint_id,
                        i.channel,
                        i.locale,
                        i.page_url,
                        i.idempotency_key,
                        json.dumps(i.hidden_fields),
                        i.score_kind,
                        i.score,
                        i.comment,
                        i.submitted_at,
                        i.submitted_at,
                    )
                    for i in batch
                ]
                returned = execute_values(
                    raw,
                    "INSERT INTO surveys_response (organization_id, survey_id, customer_id, touchpoint_id,"
                    " channel, locale, page_url, idempotency_key, hidden_fields, score_kind, score, comment,"
                    " submitted_at, updated_at) VALUES %s ON CONFLICT (organization_id, survey_id,"
                    " idempotency_key) DO NOTHING RETURNING id, organization_id, survey_id, idempotency_key",
                    rows,
                    template="(%s,%s,%s,%s,%s,%s,%s,%s,%s::jsonb,%s,%s,%s,%s,%s)",
                    fetch=True,
                )
                ids = {(org, survey, key): pk for pk, org, survey, key in returned}
                answer_rows = []
                for item in batch:
                    pk = ids.pop((item.organization_id, item.survey_id, item.idempotency_key), None)
                    if pk is None:
                        item.failed = True  # the key exists (or twice in this batch): ordinary path
                        continue
                    item.response_id = pk
                    for question_id, number, text, choices in item.answers:
                        answer_rows.append(
                            (item.organization_id, pk, question_id, number, text, json.dumps(choices))
                        )
                if answer_rows:
                    execute_values(
                        raw,
                        "INSERT INTO surveys_answer (organization_id, response_id, question_id, number,"
                        " text, choices) VALUES %s",
                        answer_rows,
                        template="(%s,%s,%s,%s,%s,%s::jsonb)",
                    )


committer = GroupCommitter()
