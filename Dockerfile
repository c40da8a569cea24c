# syntax=docker/dockerfile:1
# Build stage: build a wheel of the bridge and its dependencies.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scim_bridge ./scim_bridge
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

# Runtime stage: only the installed wheels, an unprivileged user, no build tools.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SCIM_BRIDGE_DATABASE_URL=sqlite:////data/scim-bridge.db
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin scim \
    && mkdir -p /data && chown scim /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["scim-bridge"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
