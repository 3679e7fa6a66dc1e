# The hub: `docker compose up` runs it against PostgreSQL (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core ./core
COPY connectors ./connectors
COPY sync ./sync
COPY hub ./hub
COPY sandbox ./sandbox
COPY migrations ./migrations
COPY omnisync ./omnisync
COPY config ./config
# Editable, so that `omnisync init` finds the example config and the migrations beside the code.
RUN pip install -e . && useradd --create-home --uid 10001 omnisync && chown -R omnisync /app
USER omnisync

ENV OMNISYNC_CONFIG_DIR=/etc/omnisync
ENTRYPOINT ["omnisync"]
CMD ["check"]
