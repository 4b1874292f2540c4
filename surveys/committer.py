"""Group commit for new responses: one transaction for the submissions that arrive together.

A request thread validates its submission, hands the rows to this process's committer thread and
waits until they are committed; only then does it answer 2xx. While one batch commits, the next
requests queue up and go in the following transaction, so under load many responses share one
commit (and one WAL flush) instead of paying for one each. A submission whose idempotency key
already exists, or a batch that fails, goes back to the request thread, which takes the ordinary
one-transaction-per-request path.

Two committers share the batch statement (`batch_statement`): `committer`, a thread per process whose
waiters are request threads (WSGI servers), and `loop_committer()`, one per asyncio event loop whose
waiters are coroutines (the ASGI collection lane, `surveys/collect.py`). Both send
`response_recorded` once per batch and organization, after the commit and after waking the waiters.

Enabled with CXM_SURVEYS_GROUP_COMMIT=1 on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import queue
import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg2
from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection
from psycopg2 import OperationalError
from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE

from . import signals

logger = logging.getLogger("cxm.surveys")

MAX_BATCH = 256
WAIT_TIMEOUT = 10.0
# What one row can cause (the connection stays usable; the statement ran in autocommit): text
# psycopg2 cannot send (a NUL, a lone surrogate: ValueError), a value PostgreSQL refuses. Anything
# else (a connection lost) fails the batch, whose members then take the ordinary path.
ROW_ERRORS = (ValueError, psycopg2.DataError, psycopg2.IntegrityError, DataError, IntegrityError)


@functools.cache
def _on_postgresql() -> bool:
    # The configured engine, not `connection.vendor`: this is also asked from an event loop.
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def group_commit_enabled() -> bool:
    return os.environ.get("CXM_SURVEYS_GROUP_COMMIT") == "1" and _on_postgresql()


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
    done: threading.Event | None = None  # the waiter is a thread (submit)
    future: asyncio.Future[None] | None = None  # the waiter is a coroutine (LoopCommitter.submit)

    def response_columns(self) -> dict[str, Any]:
        """The `surveys_response` columns of this pending response (for an ORM write)."""
        return {name: getattr(self, name) for name in RESPONSE_COLUMNS}


# The response columns a pending response carries (the rest of its fields are its answers and waiter).
RESPONSE_COLUMNS = (
    "organization_id",
    "survey_id",
    "customer_id",
    "touchpoint_id",
    "channel",
    "locale",
    "page_url",
    "idempotency_key",
    "hidden_fields",
    "score_kind",
    "score",
    "comment",
    "submitted_at",
)


def committer_threads() -> int:
    """Batches in flight per process (or event loop). One is fastest on 2 cores: while it commits, the
    next batch fills, and a second committer only adds contention (bench/RESULTS.md)."""
    return max(1, int(os.environ.get("CXM_SURVEYS_COMMITTERS", "1")))


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: queue.Queue[list[PendingResponse] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pid = 0
        self._lock = threading.Lock()

    def _ensure_threads(self) -> None:
        # Started lazily, and again after a fork (gunicorn workers), never shared across processes.
        if self._pid == os.getpid() and self._threads and all(t.is_alive() for t in self._threads):
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.Queue()
                self._threads = []
                self._pid = os.getpid()
            self._threads = [t for t in self._threads if t.is_alive()]
            for number in range(len(self._threads), committer_threads()):
                thread = threading.Thread(target=self._run, name=f"surveys-committer-{number}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def submit(self, item: PendingResponse) -> int | None:
        """The committed response id, or None: take the ordinary path (existing key, or a failure)."""
        item.done = threading.Event()
        self._ensure_threads()
        self._queue.put([item])
        if not item.done.wait(WAIT_TIMEOUT):
            # Not acknowledged: the caller answers an error; the idempotency key makes a retry safe.
            raise TimeoutError("the response was not committed in time")
        return None if item.failed else item.response_id

    def close(self) -> None:
        """Stop the threads and close their connections (tests; a process exiting needs nothing)."""
        threads = [t for t in self._threads if t.is_alive()] if self._pid == os.getpid() else []
        for _thread in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(10)
        self._threads = []

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                connection.close()
                return
            batch = list(first)
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.extend(more)
            try:
                try:
                    self._commit(batch)
                except ROW_ERRORS:
                    # One member's row was refused: the others must not fail with it.
                    logger.warning("group commit: a row was refused; committing the batch one by one")
                    for item in batch:
                        try:
                            self._commit([item])
                        except ROW_ERRORS:
                            logger.exception("group commit: a row was refused; it takes the ordinary path")
                            item.response_id, item.failed = None, True
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
                _wake(batch)
            _recorded(batch)

    def _commit(self, batch: list[PendingResponse]) -> None:
        fresh, sql, params = batch_statement(batch)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            apply_ids(fresh, cursor.fetchall())


def batch_statement(
    batch: list[PendingResponse], *, prepared: bool = False
) -> tuple[list[PendingResponse], str, list[list[Any]]]:
    """One statement for the whole batch, run in autocommit: one round trip and one commit. It
    inserts the responses, then their answers joined to the ids the first INSERT returned. A key
    already stored (or twice in the batch) gets no row: that item takes the ordinary path."""
    keys: set[tuple[int, int, str]] = set()
    fresh: list[PendingResponse] = []
    for item in batch:
        key = (item.organization_id, item.survey_id, item.idempotency_key)
        if key in keys:
            item.failed = True
        else:
            keys.add(key)
            fresh.append(item)
    answers = [(i, *answer) for i in fresh for answer in i.answers]
    # Column arrays: psycopg2 adapts a list in C, much faster than a VALUES row per response.
    params: list[list[Any]] = [
        [i.organization_id for i in fresh],
        [i.survey_id for i in fresh],
        [i.customer_id for i in fresh],
        [i.touchpoint_id for i in fresh],
        [i.channel for i in fresh],
        [i.locale for i in fresh],
        [i.page_url for i in fresh],
        [i.idempotency_key for i in fresh],
        [json.dumps(i.hidden_fields) if i.hidden_fields else "{}" for i in fresh],
        [i.score_kind for i in fresh],
        [i.score for i in fresh],
        [i.comment for i in fresh],
        [i.submitted_at.isoformat() for i in fresh],  # psycopg2 adapts a str faster than a datetime
    ]
    if not answers:
        return fresh, (_EXECUTE_RESPONSES if prepared else _RESPONSES_SQL), params
    params += [
        [a[0].organization_id for a in answers],
        [a[0].survey_id for a in answers],
        [a[0].idempotency_key for a in answers],
        [a[1] for a in answers],
        [a[2] for a in answers],
        [a[3] for a in answers],
        [json.dumps(a[4]) if a[4] else "[]" for a in answers],
    ]
    return fresh, (_EXECUTE_BATCH if prepared else _BATCH_SQL), params


def apply_ids(fresh: list[PendingResponse], rows: list[tuple[Any, ...]]) -> None:
    ids = {(org, survey, key): pk for pk, org, survey, key in rows}
    for item in fresh:
        pk = ids.get((item.organization_id, item.survey_id, item.idempotency_key))
        if pk is None:
            item.failed = True  # the key is stored already: ordinary path
        else:
            item.response_id = pk


_RESPONSES_SQL = (
    "INSERT INTO surveys_response (organization_id, survey_id, customer_id, touchpoint_id, channel, locale,"
    " page_url, idempotency_key, hidden_fields, score_kind, score, comment, submitted_at, updated_at)"
    " SELECT o, s, c, t, ch, l, u, k, h, sk, sc, cm, at, at FROM unnest(%s::bigint[], %s::bigint[],"
    " %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::jsonb[], %s::text[],"
    " %s::integer[], %s::text[], %s::timestamptz[]) AS v(o, s, c, t, ch, l, u, k, h, sk, sc, cm, at)"
    " ON CONFLICT (organization_id, survey_id, idempotency_key) DO NOTHING"
    " RETURNING id, organization_id, survey_id, idempotency_key"
)
_BATCH_SQL = (
    f"WITH r AS ({_RESPONSES_SQL}),"  # noqa: S608  (SQL from model metadata and constants; values are parameters)
    " a AS (INSERT INTO surveys_answer (organization_id, response_id, question_id, number, text, choices)"
    " SELECT r.organization_id, r.id, v.q, v.n, v.t, v.ch FROM r JOIN unnest(%s::bigint[], %s::bigint[],"
    " %s::text[], %s::bigint[], %s::integer[], %s::text[], %s::jsonb[]) AS v(o, s, k, q, n, t, ch)"
    " ON v.o = r.organization_id AND v.s = r.survey_id AND v.k = r.idempotency_key)"
    " SELECT id, organization_id, survey_id, idempotency_key FROM r"
)


def _wake(batch: list[PendingResponse]) -> None:
    for item in batch:
        if item.done is not None:
            item.done.set()


def _recorded(batch: list[PendingResponse]) -> None:
    from .models import Response

    recorded: dict[int, list[int]] = defaultdict(list)
    for item in batch:
        if not item.failed and item.response_id is not None:
            recorded[item.organization_id].append(item.response_id)
    for organization_id, response_ids in recorded.items():
        try:
            signals.response_recorded.send(
                sender=Response, organization_id=organization_id, response_ids=response_ids
            )
        except Exception:  # noqa: BLE001  (a listener's failure must not stop the committer)
            logger.exception("a response_recorded listener failed")


T = TypeVar("T")


def with_fresh_connection(function: Callable[..., T], /, **kwargs: Any) -> T:
    """ORM work in a worker thread, with what Django does around each request: broken or expired
    connections are dropped before and after."""
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        close_old_connections()


def _recorded_in_thread(batch: list[PendingResponse]) -> None:
    with_fresh_connection(_recorded, batch=batch)  # listeners may write (no broker: dashboards go stale)


committer = GroupCommitter()


# --- The same for an asyncio event loop, without threads ------------------------------------------

_signal_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="surveys-recorded")
RECORDED_DELAY = 0.05


class LoopCommitter:
    """The group committer of one event loop (an ASGI worker process): no thread hand-offs.

    Submissions wait on futures. Up to `committer_threads()` batches are in flight, each on its own
    asynchronous psycopg2 connection polled by the loop, and the next batch fills while they commit.
    Listeners of `response_recorded` run in a thread, since they may block.
    """

    def __init__(self) -> None:
        self._pending: list[PendingResponse] = []
        self._idle: list[Any] = []
        self._running = 0
        self._limit = committer_threads()
        self._tasks: set[asyncio.Task[None]] = set()
        self._recorded: list[PendingResponse] = []
        self._recorded_lock = threading.Lock()

    async def submit(self, item: PendingResponse) -> int | None:
        """The committed response id, or None: take the ordinary path (existing key, or a failure).

        No timer per request: every batch is bounded by WAIT_TIMEOUT in `_drain`, which always
        resolves its waiters."""
        loop = asyncio.get_running_loop()
        item.future = loop.create_future()
        self._pending.append(item)
        if self._running < self._limit:
            self._running += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await item.future
        return None if item.failed else item.response_id

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        connection_ = self._idle.pop() if self._idle else None
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                try:
                    async with asyncio.timeout(WAIT_TIMEOUT):
                        if connection_ is None:
                            connection_ = await _connect()
                        try:
                            await _commit_batch(connection_, batch)
                        except ROW_ERRORS:
                            # One member's row was refused: the others must not fail with it.
                            logger.warning("group commit: a row was refused; committing the batch one by one")
                            for item in batch:
                                try:
                                    await _commit_batch(connection_, [item])
                                except ROW_ERRORS:
                                    logger.exception(
                                        "group commit: a row was refused; it takes the ordinary path"
                                    )
                                    item.response_id, item.failed = None, True
                except Exception:  # noqa: BLE001  (the waiters fall back, nothing is lost)
                    logger.exception("group commit failed; falling back to single commits")
                    for item in batch:
                        item.response_id = None
                        item.failed = True
                    if connection_ is not None:
                        _close_quietly(connection_)
                        connection_ = None
                finally:
                    for item in batch:
                        if item.future is not None and not item.future.done():
                            item.future.set_result(None)
                # Listeners run in a thread, for the batches of RECORDED_DELAY seconds at a time.
                with self._recorded_lock:
                    first = not self._recorded
                    self._recorded.extend(batch)
                if first:
                    loop.call_later(RECORDED_DELAY, loop.run_in_executor, _signal_thread, self._send_recorded)
        finally:
            self._running -= 1
            if connection_ is not None:
                self._idle.append(connection_)

    def _send_recorded(self) -> None:
        with self._recorded_lock:
            batch, self._recorded = self._recorded, []
        _recorded_in_thread(batch)

    def close(self) -> None:
        """Close the idle connections (tests; a process exiting needs nothing)."""
        while self._idle:
            _close_quietly(self._idle.pop())


async def _wait(connection_: Any) -> None:
    """Poll an asynchronous psycopg2 connection until its operation is done, without blocking the loop."""
    loop = asyncio.get_running_loop()
    while True:
        state = connection_.poll()
        if state == POLL_OK:
            return
        ready = loop.create_future()
        fd = connection_.fileno()
        if state == POLL_READ:
            loop.add_reader(fd, _ready, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
        elif state == POLL_WRITE:
            loop.add_writer(fd, _ready, ready)
            try:
                await ready
            finally:
                loop.remove_writer(fd)
        else:
            raise OperationalError(f"unexpected poll state {state}")


def _ready(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _numbered(sql: str) -> str:
    """%s placeholders as $1, $2, … (for PREPARE)."""
    parts = sql.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]


# Each asynchronous connection prepares the two batch statements once: PostgreSQL then neither
# parses nor plans them again for every batch.
_PREPARE = (
    f"PREPARE cxm_responses AS {_numbered(_RESPONSES_SQL)}; PREPARE cxm_batch AS {_numbered(_BATCH_SQL)}"
)


def _execute_sql(name: str, sql: str) -> str:
    """EXECUTE with each argument cast as the statement casts it (psycopg2 sends untyped arrays)."""
    casts = re.findall(r"%s(::[a-z]+\[\])", sql)
    assert len(casts) == sql.count("%s"), "every placeholder of a batch statement is cast"
    return f"EXECUTE {name} (" + ", ".join(f"%s{cast}" for cast in casts) + ")"


_EXECUTE_RESPONSES = _execute_sql("cxm_responses", _RESPONSES_SQL)
_EXECUTE_BATCH = _execute_sql("cxm_batch", _BATCH_SQL)


async def _connect() -> Any:
    from django.db import connections

    params = connections["default"].get_connection_params()
    connection_ = psycopg2.connect(**params, async_=1)
    await _wait(connection_)
    cursor = connection_.cursor()
    cursor.execute(_PREPARE)
    await _wait(connection_)
    cursor.close()
    return connection_


async def _commit_batch(connection_: Any, batch: list[PendingResponse]) -> None:
    fresh, name, params = batch_statement(batch, prepared=True)
    apply_ids(fresh, await _execute(connection_, name, params))


async def _execute(connection_: Any, sql: str, params: list[list[Any]]) -> list[tuple[Any, ...]]:
    """One statement on an asynchronous connection (autocommit: committed when this returns)."""
    cursor = connection_.cursor()
    cursor.execute(sql, params)
    await _wait(connection_)
    rows = cursor.fetchall()
    cursor.close()
    return rows


def _close_quietly(connection_: Any) -> None:
    try:
        connection_.close()
    except Exception:  # noqa: BLE001, S110  (already broken)
        pass


_loop_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopCommitter] = (
    weakref.WeakKeyDictionary()
)


def loop_committer() -> LoopCommitter:
    """The group committer of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _loop_committers.get(loop)
    if found is None:
        found = _loop_committers[loop] = LoopCommitter()
    return found
