# cxm: two commands to get going: `make run` and `make test`.
PYTHON ?= python3
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint fmt migrate seed worker beat messages bench clean

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

## install: dependencies only, into .venv/
install: $(VENV)/.installed

## run: serve the app with demo data on the embedded default (SQLite, tasks in-process)
run: install
	@mkdir -p var
	$(MANAGE) migrate --noinput
	PORT=$(PORT) $(MANAGE) seed_demo
	@echo ""
	@echo "  cxm is running at http://127.0.0.1:$(PORT)/  (demo login printed above)"
	@echo ""
	PORT=$(PORT) $(MANAGE) runserver 127.0.0.1:$(PORT)

## test: lint, type-check and run the whole suite (DATABASE_URL / REDIS_URL select real services)
test: install lint
	$(PY) -m pytest -n $${PYTEST_WORKERS:-auto} --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cxm surveys journeys feedback metrics loop delighted_api

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: install
	$(MANAGE) migrate --noinput

seed: install
	$(MANAGE) seed_demo

## worker / beat: Celery processes (need REDIS_URL)
worker: install
	$(VENV)/bin/celery -A cxm worker -l info -Q default,metrics,imports,notifications,webhooks

beat: install
	$(VENV)/bin/celery -A cxm beat -l info --schedule var/celerybeat-schedule

## messages: extract and compile translations (English, Simplified Chinese)
messages: install
	$(MANAGE) makemessages -l zh_Hans --no-obsolete -i ".venv/*" -i ".uv/*" -i "surveys/*" -i "journeys/*" -i "metrics/*" -i "tests/*" -i "bench/*"
	for app in surveys journeys metrics; do (cd $$app && ../$(PY) ../manage.py makemessages -l zh_Hans --no-obsolete -i "migrations/*"); done
	$(MANAGE) compilemessages -l zh_Hans -i .venv -i .uv

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(UV_HOME) var/*.sqlite3 .pytest_cache .mypy_cache .ruff_cache
