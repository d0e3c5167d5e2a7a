"""Celery through real processes: a worker and beat over the real Redis broker."""

import time

import pytest
import redis
from django.conf import settings

from marketplace.celery import app
from marketplace.core.tasks import health_check

pytestmark = [pytest.mark.worker, pytest.mark.django_db]


def test_health_task_runs_in_a_real_worker_process(celery_worker):
    result = health_check.apply_async(queue=celery_worker.queue)
    report = result.get(timeout=30)
    assert report["database"] == "postgresql"
    celery_worker.wait_for_log(f"Task core.health_check[{result.id}] succeeded")


def test_celery_is_configured_for_json_explicit_names_and_time_limits():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert "core.health_check" in app.tasks
    assert health_check.name == "core.health_check"


def test_beat_schedules_the_health_check_onto_the_broker(celery_beat):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + 30
    while broker.llen(celery_beat.queue) == 0:
        assert celery_beat.process.poll() is None, celery_beat.log()
        assert time.monotonic() < deadline, f"beat sent nothing:\n{celery_beat.log()}"
        time.sleep(0.2)
    assert "Sending due task core-health-check (core.health_check)" in celery_beat.log()
    broker.delete(celery_beat.queue)
