# syntax=docker/dockerfile:1
# The base image by a fixed release tag; to pin its digest as well, pass
# --build-arg PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:<digest> (README, "Metrics, logs and dependencies").
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# Build stage: a virtual environment with the locked, hash-checked dependencies, then the bridge itself
# without dependencies (built by the locked setuptools, no build isolation).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/scim-bridge
COPY requirements/runtime.lock /src/requirements/runtime.lock
RUN /opt/scim-bridge/bin/pip install --require-hashes -r /src/requirements/runtime.lock
COPY pyproject.toml README.md /src/
COPY scim_bridge /src/scim_bridge
RUN /opt/scim-bridge/bin/pip install --no-deps --no-build-isolation /src \
    && /opt/scim-bridge/bin/pip uninstall --yes setuptools wheel

# Runtime stage: only the virtual environment, an unprivileged user, no build tools.
# Runs with a read-only root file system: it writes only to /data (SQLite state, when no
# PostgreSQL is configured) and /tmp (gunicorn heartbeat files, the workers' metrics files); mount both as
# volumes or tmpfs.
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/scim-bridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    TMPDIR=/tmp \
    SCIM_BRIDGE_DATABASE_URL=sqlite:////data/scim-bridge.db \
    SCIM_BRIDGE_GUNICORN_CONFIG=/etc/scim-bridge/gunicorn.conf.py
RUN groupadd --system --gid 10001 scim \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin scim \
    && mkdir -p /data /etc/scim-bridge && chown 10001:10001 /data && chmod 0750 /data
COPY --from=build /opt/scim-bridge /opt/scim-bridge
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
