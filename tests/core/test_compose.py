"""docker-compose.yml cannot be run here: this checks it against the Makefile and the settings."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services_and_healthchecks():
    services = _compose()["services"]
    assert set(services) >= {"web", "worker", "beat", "db", "redis"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "db", "redis"):
        assert "healthcheck" in services[name], name
    assert (
        "gunicorn" in " ".join(services["web"]["command"])
        if isinstance(services["web"]["command"], list)
        else "gunicorn" in services["web"]["command"]
    )


def test_web_runs_the_asgi_application_under_uvicorn_workers():
    import importlib

    command = _cmd(_compose()["services"]["web"])
    module, attribute = re.search(r"gunicorn (\S+):(\w+)", command).groups()
    worker = re.search(r"--worker-class (\S+)", command).group(1)
    assert (module, attribute, worker) == ("cxm.asgi", "application", "uvicorn_worker.UvicornWorker")
    assert callable(getattr(importlib.import_module(module), attribute))
    worker_module, worker_class = worker.rsplit(".", 1)
    assert isinstance(getattr(importlib.import_module(worker_module), worker_class), type)


def _cmd(service):
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_worker_queues_match_the_makefile_and_settings():
    from django.conf import settings

    makefile = (ROOT / "Makefile").read_text()
    make_queues = re.search(r"celery -A cxm worker .*-Q ([\w,]+)", makefile).group(1)
    compose_queues = re.search(r"-Q ([\w,]+)", _cmd(_compose()["services"]["worker"])).group(1)
    configured = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert set(make_queues.split(",")) == set(compose_queues.split(",")) == configured


def test_beat_and_migrations():
    services = _compose()["services"]
    assert "celery -A cxm beat" in _cmd(services["beat"])
    assert "migrate" in _cmd(services["migrate"])
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["db"]["condition"] == "service_healthy"


def test_environment_uses_the_documented_variables():
    compose = _compose()
    readme = (ROOT / "README.md").read_text()
    env = compose["x-env"] if "x-env" in compose else compose["services"]["web"]["environment"]
    for name in env:
        assert f"`{name}`" in readme, f"{name} is not documented in README.md"
    assert env["DJANGO_SETTINGS_MODULE"] == "cxm.settings.production"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")


def test_named_volumes():
    compose = _compose()
    assert {"pgdata"} <= set(compose["volumes"])
    assert any("pgdata:" in v for v in compose["services"]["db"]["volumes"])
