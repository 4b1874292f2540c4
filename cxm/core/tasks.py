from celery import shared_task
from django.utils import timezone


@shared_task(time_limit=30, ignore_result=False)
def heartbeat() -> str:
    """Proves the worker and beat are alive; returns the worker's clock."""
    return timezone.now().isoformat()


@shared_task(time_limit=30)
def add(x: int, y: int) -> int:
    """A trivial task for checking a worker end to end."""
    return x + y
