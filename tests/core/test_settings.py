import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _run(["check"], DJANGO_SETTINGS_MODULE="cxm.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_prints_no_warning():
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="cxm.settings.production",
        SECRET_KEY="k" * 20 + "x9Y!mQ2#zR7$wL4&vT1^pN8*sB5@cD3%fG6",
        ALLOWED_HOSTS="cxm.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_email_url_parsing():
    from cxm.settings.base import _email_settings

    smtp = _email_settings("submission://user%40x.com:p%40ss@mail.example.com")
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"]) == ("mail.example.com", 587, True)
    assert (smtp["EMAIL_HOST_USER"], smtp["EMAIL_HOST_PASSWORD"]) == ("user@x.com", "p@ss")
    assert _email_settings("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    import pytest

    with pytest.raises(ValueError):
        _email_settings("carrier-pigeon://x")
