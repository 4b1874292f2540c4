"""Data seeded once for a whole module (or class) instead of once per test.

    @pytest.fixture(scope="module")
    def dataset(django_db_setup, django_db_blocker):
        with seeded_once(django_db_blocker):
            organization = OrganizationFactory(slug="acme-seeded")
            yield organization, seed_dataset(organization, customers=60)

The data is written in a transaction left open while the module's tests run; each test (marked
`django_db`, not `transaction=True`) runs in a savepoint inside it, so what a test changes is undone
for the next one, and the seeded data itself is rolled back after the last test. Use a slug of its
own: the module's other tests run inside the same transaction and would find it too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction


@contextlib.contextmanager
def seeded_once(django_db_blocker: Any, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic(using=using)
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True, using=using)
            atomic.__exit__(None, None, None)
