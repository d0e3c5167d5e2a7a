# The production-like image for web, worker and beat (see docker-compose.yml).

# 1. Browser libraries from npm (ethers, htmx, Chart.js) copied into static/vendor/.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
COPY scripts/vendor_static.js scripts/
COPY static/ static/
RUN node scripts/vendor_static.js

# 2. The Python application, pinned by constraints.txt.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=marketplace.settings.production
WORKDIR /app
RUN useradd --create-home --uid 10001 app
COPY pyproject.toml constraints.txt README.md ./
COPY marketplace/ marketplace/
COPY datasets_app/ datasets_app/
COPY payments/ payments/
RUN pip install -c constraints.txt .
COPY . .
COPY --from=assets /app/static/vendor/ static/vendor/
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var/media && chown -R app /app/var
USER app
EXPOSE 8000
# Workers, threads and the access log: gunicorn.conf.py (WEB_CONCURRENCY, GUNICORN_THREADS).
CMD ["gunicorn", "--bind", "0.0.0.0:8000"]
