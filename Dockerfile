# syntax=docker/dockerfile:1
# Build stage: build a wheel of the bridge and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scim_bridge ./scim_bridge
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

# Runtime stage: only the installed wheels, an unprivileged user, no build tools.
# Runs with a read-only root file system: it writes only to /data (SQLite state, when no
# PostgreSQL is configured) and /tmp (gunicorn heartbeat files); mount both as volumes or tmpfs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    TMPDIR=/tmp \
    SCIM_BRIDGE_DATABASE_URL=sqlite:////data/scim-bridge.db \
    SCIM_BRIDGE_GUNICORN_CONFIG=/etc/scim-bridge/gunicorn.conf.py
RUN groupadd --system --gid 10001 scim \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin scim \
    && mkdir -p /data /etc/scim-bridge && chown 10001:10001 /data && chmod 0750 /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --compile /wheels/*.whl && rm -rf /wheels /root/.cache
COPY deploy/gunicorn.conf.py /etc/scim-bridge/gunicorn.conf.py
USER 10001:10001
WORKDIR /data
VOLUME ["/data", "/tmp"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["scim-bridge"]
CMD ["serve"]
