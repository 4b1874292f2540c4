"""Group commit for the ASGI lane: one transaction for the new responses that arrive together.

A coroutine validates its submission (`rules`), hands the new response to its event loop's
committer and awaits the commit without holding a thread; only then does it answer 2xx. While one
batch commits (one statement, `batch`), the next requests queue up and go in the following one, so
under load many responses share one commit (and one WAL flush) instead of paying for one each. A
submission whose idempotency key already exists, or a batch that fails, goes back to its coroutine,
which takes the ordinary one-transaction path (`write.response_write`) in a thread.

`response_recorded` is sent once per organization for the batches of RECORDED_DELAY seconds, after
their commit, from a thread of its own: receivers may block or query, and never run on the loop.

Enabled with CXM_SURVEYS_GROUP_COMMIT=1 on PostgreSQL. Every other server (runserver, WSGI, tests
without the loop) writes through the ORM (`write.response_submit`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg2
from django.conf import settings
from django.db import close_old_connections
from psycopg2 import OperationalError
from psycopg2.extensions import POLL_OK, POLL_READ, POLL_WRITE

from .. import signals
from .batch import MAX_BATCH, ROW_ERRORS, PendingResponse, apply_ids, batch_statement, prepared_statements

logger = logging.getLogger("cxm.surveys")

WAIT_TIMEOUT = 10.0
RECORDED_DELAY = 0.05
T = TypeVar("T")


@functools.cache
def _on_postgresql() -> bool:
    # The configured engine, not `connection.vendor`: this is asked from the event loop.
    return "postgresql" in settings.DATABASES["default"]["ENGINE"]


def group_commit_enabled() -> bool:
    return os.environ.get("CXM_SURVEYS_GROUP_COMMIT") == "1" and _on_postgresql()


def committer_batches() -> int:
    """Batches in flight per event loop. One is fastest on 2 cores: while it commits, the next batch
    fills, and a second only adds contention (bench/RESULTS.md)."""
    return max(1, int(os.environ.get("CXM_SURVEYS_COMMITTERS", "1")))


def with_fresh_connection(function: Callable[..., T], /, **kwargs: Any) -> T:
    """ORM work in a worker thread, with what Django does around each request: broken or expired
    connections are dropped before and after."""
    close_old_connections()
    try:
        return function(**kwargs)
    finally:
        close_old_connections()


def responses_recorded(batch: list[PendingResponse]) -> None:
    """Sends `response_recorded` for the committed members, once per organization (in a thread)."""
    from ..models import Response

    recorded: dict[int, list[int]] = defaultdict(list)
    for item in batch:
        if not item.failed and item.response_id is not None:
            recorded[item.columns["organization_id"]].append(item.response_id)
    for organization_id, response_ids in recorded.items():
        try:
            signals.response_recorded.send(
                sender=Response, organization_id=organization_id, response_ids=response_ids
            )
        except Exception:  # noqa: BLE001  (a listener's failure must not stop the committer)
            logger.exception("a response_recorded listener failed")


_signal_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="surveys-recorded")


class LoopCommitter:
    """The group committer of one event loop (an ASGI worker process): no thread hand-offs.

    Submissions wait on futures. Up to `committer_batches()` batches are in flight, each on its own
    asynchronous psycopg2 connection polled by the loop, and the next batch fills while they commit.
    """

    def __init__(self) -> None:
        self._pending: list[PendingResponse] = []
        self._idle: list[Any] = []
        self._running = 0
        self._limit = committer_batches()
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
                        await _commit_or_split(connection_, batch)
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
        with_fresh_connection(responses_recorded, batch=batch)  # listeners may write

    def close(self) -> None:
        """Close the idle connections (tests; a process exiting needs nothing)."""
        while self._idle:
            _close_quietly(self._idle.pop())


async def _commit_or_split(connection_: Any, batch: list[PendingResponse]) -> None:
    try:
        await _commit_batch(connection_, batch)
    except ROW_ERRORS:
        # One member's row was refused: the others must not fail with it.
        logger.warning("group commit: a row was refused; committing the batch one by one")
        for item in batch:
            try:
                await _commit_batch(connection_, [item])
            except ROW_ERRORS:
                logger.exception("group commit: a row was refused; it takes the ordinary path")
                item.response_id, item.failed = None, True


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


async def _connect() -> Any:
    """An asynchronous connection with the two batch statements prepared: PostgreSQL then neither
    parses nor plans them again for every batch."""
    from django.db import connections

    params = connections["default"].get_connection_params()
    connection_ = psycopg2.connect(**params, async_=1)
    await _wait(connection_)
    prepare, _executes = prepared_statements()
    cursor = connection_.cursor()
    cursor.execute(prepare)
    await _wait(connection_)
    cursor.close()
    return connection_


async def _commit_batch(connection_: Any, batch: list[PendingResponse]) -> None:
    fresh, sql, params = batch_statement(batch)
    _prepare, executes = prepared_statements()
    apply_ids(fresh, await _execute(connection_, executes[sql], params))


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
