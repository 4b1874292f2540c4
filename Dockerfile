# cxm production image: gunicorn web, Celery worker and beat all run from it.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=cxm.settings.production
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# collectstatic needs a key at build time only; the real one comes from the environment.
RUN SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64) python manage.py collectstatic --noinput \
    && python manage.py compilemessages -l zh_Hans -i .venv >/dev/null
RUN useradd --create-home --uid 1000 cxm && mkdir -p /app/var && chown -R cxm /app/var
USER cxm
EXPOSE 8000
CMD ["gunicorn", "cxm.asgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "uvicorn_worker.UvicornWorker", "--access-logfile", "-"]
