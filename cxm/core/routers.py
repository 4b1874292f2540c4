from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

# The alias that reads inside `reads_on(...)` go to (None: the primary).
_reads_on: ContextVar[str | None] = ContextVar("reads_on", default=None)


class ReplicaRouter:
    """Dashboard reads go to the `replica` alias when DATABASE_REPLICA_URL is set; writes to the primary.

    Code that wants the replica asks for it explicitly with `cxm.core.routers.read_alias()`;
    everything else uses the primary, so a write never lands on the replica.
    """

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return _reads_on.get()

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        return db == "default"


def read_alias() -> str:
    """The database alias for dashboard reads and recomputes."""
    return "replica" if "replica" in settings.DATABASES else "default"


@contextmanager
def reads_on(alias: str) -> Iterator[None]:
    """ORM reads in this block go to `alias`: for dashboard builders composing selectors that take no
    `using` (the text layer's). Writes still go to the primary."""
    token = _reads_on.set(alias)
    try:
        yield
    finally:
        _reads_on.reset(token)
