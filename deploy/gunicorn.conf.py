"""gunicorn settings for scim-bridge in production.

Used by ``scim-bridge serve --config deploy/gunicorn.conf.py`` (or SCIM_BRIDGE_GUNICORN_CONFIG, which
the container image sets) and by plain ``gunicorn -c deploy/gunicorn.conf.py 'scim_bridge.wsgi:app'``.
The values are those ``serve`` uses without a file (scim_bridge/web/gunicorn.py); the environment
variables below tune them without editing the file. Options given to ``serve`` on the command line
(--host, --port, --workers, --threads) win over this file.
"""

import os

from scim_bridge import logs as bridge_logs
from scim_bridge.web import gunicorn as bridge_hooks

# Where to listen. Behind a TLS-terminating proxy or an ingress, plain HTTP on 8080.
bind = os.environ.get("SCIM_BRIDGE_BIND", "0.0.0.0:8080")

# Threads, not processes, carry the concurrency: a SCIM request mostly waits on OpsGenie, and every
# worker process holds its own rate budget, database pool and background sync thread. Two workers
# keep the bridge serving while one restarts.
#
# Slow clients (README, "Security"): gthread's main loop waits for a connection's first bytes and for
# kept-alive connections without a thread; a thread is taken once a request arrives. The bridge's
# worker class is gthread with two additions (scim_bridge/web/worker.py): the request line and headers
# must arrive within SCIM_BRIDGE_BODY_DEADLINE, and closing a connection (which may wait up to 2 s for
# the client) happens in the request's thread instead of the main loop. The bridge reads
# no body before the caller is authenticated (an unauthenticated request is answered at once and its
# connection closed), and every body read waits at most SCIM_BRIDGE_BODY_READ_TIMEOUT (5 s) for the
# next bytes and ends at SCIM_BRIDGE_BODY_DEADLINE (30 s) with a 408. The bodies read before any
# credential is known (console login, /oauth/token) can therefore each hold a thread for those few
# seconds: 32 threads per worker leave room for the identity providers' parallelism (Entra ID and Okta
# send a handful of requests at a time) while dozens of stalled connections wait out their deadline.
worker_class = "scim_bridge.web.worker.BridgeThreadWorker"
workers = int(os.environ.get("SCIM_BRIDGE_WORKERS", "2"))
threads = int(os.environ.get("SCIM_BRIDGE_THREADS", "32"))

# A group PATCH with thousands of members waits on OpsGenie's rate limit: give it time to finish
# before the worker is declared stuck.
timeout = int(os.environ.get("SCIM_BRIDGE_WORKER_TIMEOUT", "300"))

# Graceful shutdown: on SIGTERM, stop accepting, let running requests finish for up to 30 s.
# Keep Kubernetes' terminationGracePeriodSeconds (and systemd's TimeoutStopSec) above this.
graceful_timeout = int(os.environ.get("SCIM_BRIDGE_GRACEFUL_TIMEOUT", "30"))
keepalive = 5

# The bridge writes its own JSON access line per request (logger scim_bridge.access) to stderr;
# gunicorn's access log would repeat it without the request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("SCIM_BRIDGE_LOG_LEVEL", "info")
# gunicorn's own lines (start, workers, stop) as JSON objects on stderr, like the bridge's.
logconfig_dict = bridge_logs.gunicorn_logconfig(loglevel)

# Trust X-Forwarded-* (scheme, for the Location and meta.location URLs) only from these proxies.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Worker heartbeat files: /tmp is writable with a read-only root file system (a tmpfs or an emptyDir).
worker_tmp_dir = os.environ.get("SCIM_BRIDGE_WORKER_TMP_DIR", "/tmp")


# Server hooks shared with `scim-bridge serve`. on_starting: one folder for the workers' metrics
# (PROMETHEUS_MULTIPROC_DIR: created when unset, emptied of the last run's files when set; give each
# deployment its own), so /metrics counts every worker; and JSON log lines on stderr. child_exit: the
# bookkeeping for a worker that ended. on_exit: remove the folder the server made itself.
on_starting = bridge_hooks.on_starting
child_exit = bridge_hooks.child_exit
on_exit = bridge_hooks.on_exit
