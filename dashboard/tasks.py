"""Site-level tasks."""

from celery import shared_task


@shared_task(ignore_result=False, acks_late=True, soft_time_limit=10, time_limit=20)  # a round trip, nothing more
def ping(value: str = "pong") -> str:
    """Echo a value back: the health page and the tests use it to prove a worker consumes the broker."""
    return value
