"""A task sent through the configured broker runs in a real worker process (never eager mode)."""

import os

import pytest
import redis
from celery import Celery

from tests.fixtures.celery_worker import start_worker, wait_until_consuming, worker_env

REDIS_URL = os.environ.get("BBDASH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_configured_broker_round_trip(celery_worker):
    from dashboard.tasks import ping

    result = ping.delay("through the configured broker")
    assert result.get(timeout=60) == "through the configured broker"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_filesystem_broker_round_trip(tmp_path, monkeypatch):
    broker_dir = tmp_path / "broker"
    # Celery prefers the CELERY_BROKER_URL / CELERY_RESULT_BACKEND environment variables over the app's arguments:
    # the sending side must see the same broker as the worker, whatever the suite itself runs on.
    monkeypatch.setenv("CELERY_BROKER_URL", "filesystem://")
    monkeypatch.setenv("CELERY_RESULT_BACKEND", f"file://{tmp_path / 'celery-results'}")
    env = worker_env(CELERY_BROKER_URL="filesystem://", BBDASH_VAR_DIR=str(tmp_path))
    worker = start_worker(tmp_path / "worker.log", concurrency=1, env=env)
    try:
        wait_until_consuming(worker)
        with Celery(
            "roundtrip",
            broker="filesystem://",
            backend=f"file://{tmp_path / 'celery-results'}",
            set_as_current=False,  # the suite's own tasks must keep sending through the site's app
        ) as client:
            client.conf.broker_transport_options = {
                "data_folder_in": str(broker_dir / "queue"),
                "data_folder_out": str(broker_dir / "queue"),
                "control_folder": str(broker_dir / "control"),
            }
            result = client.send_task("dashboard.tasks.ping", args=["over files"])
            assert result.get(timeout=60) == "over files"
    finally:
        worker.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not _redis_available(), reason=f"no Redis at {REDIS_URL}")
def test_redis_broker_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", REDIS_URL)
    env = worker_env(CELERY_BROKER_URL=REDIS_URL, CELERY_RESULT_BACKEND=REDIS_URL)
    worker = start_worker(tmp_path / "worker.log", concurrency=1, env=env)
    try:
        wait_until_consuming(worker)
        with Celery("roundtrip", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False) as client:
            result = client.send_task("dashboard.tasks.ping", args=["over redis"])
            assert result.get(timeout=60) == "over redis"
    finally:
        worker.stop()
