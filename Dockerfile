# orgbook: one image for every role (issuer, verifier replica, witness, one-off commands).
#   docker build -t orgbook .
#   docker run --rm orgbook --help
# Roles differ only by command and environment; see docker-compose.yml and docs/deployment.md.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY orgbook ./orgbook
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM python:3.11-slim-bookworm
# pg_dump/pg_restore for `orgbook db backup|restore` against PostgreSQL 15 (same major version).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
RUN useradd --system --uid 10001 --home-dir /data --create-home orgbook
USER orgbook
WORKDIR /data
ENV ORGBOOK_DATA_DIR=/data \
    ORGBOOK_LOG_JSON=true \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
ENTRYPOINT ["orgbook"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
