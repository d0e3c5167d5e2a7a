import pytest
import redis
from django.core.management import CommandError, call_command

pytestmark = [pytest.mark.worker, pytest.mark.django_db]


def test_health_check_command_reports_what_a_real_worker_saw(celery_worker, capsys):
    call_command("health_check", "--queue", celery_worker.queue, "--timeout", "30")
    assert "ran core.health_check; database: postgresql" in capsys.readouterr().out


def test_health_check_command_says_clearly_when_no_worker_answers(settings):
    with pytest.raises(CommandError, match="No worker answered within 1s"):
        call_command("health_check", "--queue", "nobody-listens-here", "--timeout", "1")
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("nobody-listens-here")
