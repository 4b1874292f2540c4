"""seed_demo creates a login with a published password: it refuses to run under production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cxm.tenancy.models import Organization

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_seed_demo_refuses_when_demo_data_is_not_allowed(settings):
    settings.DEMO_DATA_ALLOWED = False
    with pytest.raises(CommandError, match="refuses to run under production settings"):
        call_command("seed_demo", "--size", "small")
    assert not Organization.objects.filter(slug="demo").exists()


def test_seed_demo_refuses_under_the_production_settings_module(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="cxm.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        CXM_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'never.sqlite3'}",
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "seed_demo refuses to run under production settings" in done.stderr
    assert "demo@example.com" in done.stderr
    assert not (tmp_path / "never.sqlite3").exists() or (tmp_path / "never.sqlite3").stat().st_size == 0
