"""The bridge's Prometheus metrics, kept by prometheus_client.

One process (the demo, tests on Flask's server): the metrics live in a registry of their own, with the
process and Python collectors beside them. Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` is set before the
workers start (scim_bridge/web/gunicorn.py): every worker writes its figures to files in that folder and
``/metrics``, whichever worker answers it, reads them all, so each scrape speaks for the whole server.

Every label value is one of a known, small set: whatever a client sends (a made-up method, a path that
matches no route) is folded into ``other`` or ``unmatched`` and cannot add series.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from collections.abc import Iterator
from http import HTTPStatus

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import GC_COLLECTOR
from prometheus_client import PLATFORM_COLLECTOR
from prometheus_client import PROCESS_COLLECTOR
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import disable_created_metrics
from prometheus_client import generate_latest
from prometheus_client import values
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # the variable prometheus_client reads
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
KNOWN_STATUSES = frozenset(str(s.value) for s in HTTPStatus)
OTHER = "other"
UNMATCHED = "unmatched"

# The *_created series double the output and say nothing a scraper needs.
disable_created_metrics()  # type: ignore[no-untyped-call]


def method_label(method: str) -> str:
    """The HTTP method as a label: one of the methods the bridge knows, else ``other``."""
    return method if method in KNOWN_METHODS else OTHER


def status_label(status: int | None) -> str:
    """An HTTP status as a label: a registered code, else its class (``4xx``), ``error`` when there was none."""
    if status is None:
        return "error"
    text = str(status)
    if text in KNOWN_STATUSES:
        return text
    return f"{status // 100}xx" if 100 <= status < 600 else OTHER


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The bridge's counters and histograms, and how to read them back (``/metrics``, the console)."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        if self.multiprocess and values.ValueClass is values.MutexValue:
            raise RuntimeError(f"{MULTIPROC_ENV} was set after prometheus_client was imported; set it before "
                               "the workers start (the gunicorn hooks in scim_bridge.web.gunicorn do)")
        # Where the metrics are registered. In multiprocess mode they write to the shared folder too, and
        # a scrape reads that folder instead of this registry.
        self.registry = CollectorRegistry(auto_describe=True)
        self._extra: list[Collector] = []
        r = self.registry
        self.requests = Counter("scim_bridge_requests_total", "SCIM requests by endpoint, method and status",
                                ["endpoint", "method", "status"], registry=r)
        self.request_seconds = Histogram("scim_bridge_request_seconds", "SCIM request latency",
                                         ["endpoint", "method"], buckets=BUCKETS, registry=r)
        self.throttled_responses = Counter("scim_bridge_throttled_responses_total", "429 answers sent to clients",
                                           registry=r)
        self.upstream_calls = Counter("scim_bridge_upstream_calls_total", "Upstream calls by method, domain and status",
                                      ["method", "domain", "status"], registry=r)
        self.upstream_call_seconds = Histogram("scim_bridge_upstream_call_seconds", "Upstream call latency",
                                               ["method", "domain"], buckets=BUCKETS, registry=r)
        self.upstream_retries = Counter("scim_bridge_upstream_retries_total", "Upstream attempts after the first",
                                        ["domain"], registry=r)
        self.upstream_throttled = Counter("scim_bridge_upstream_throttled_total", "429 answers received from upstream",
                                          ["domain"], registry=r)
        self.audit_events = Counter("scim_bridge_audit_events_total", "Audit events written", ["outcome"], registry=r)
        # kind: "phone" (a phone number that got no contact) or "ignored" (unknown attributes).
        self.warnings = Counter("scim_bridge_warnings_total", "Requests that succeeded with a warning, by kind",
                                ["kind"], registry=r)
        if not self.multiprocess:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                r.register(collector)

    def add_collector(self, collector: Collector) -> None:
        """Figures computed when scraped (sync age, rate budget): read by this process at scrape time."""
        if self.multiprocess:
            self._extra.append(collector)
        else:
            self.registry.register(collector)

    def _scrape_registry(self) -> CollectorRegistry:
        if not self.multiprocess:
            return self.registry
        scrape = CollectorRegistry()
        MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]  # every worker's files, live or exited, summed per series
        # python_info is the same in every worker; the per-process collectors (CPU, memory, open files,
        # garbage collection) would describe only the worker that happened to answer, so they are left out.
        scrape.register(PLATFORM_COLLECTOR)
        for collector in self._extra:
            scrape.register(collector)
        return scrape

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self._scrape_registry()), CONTENT_TYPE_LATEST

    def samples(self, name: str) -> Iterator[Sample]:
        """The samples of the metric family ``name`` as a scrape would show them (all workers)."""
        for family in self._scrape_registry().collect():
            if family.name == name:
                yield from family.samples

    def request_totals(self, endpoint_prefix: str) -> dict[str, int]:
        """Requests answered since start on endpoints under ``endpoint_prefix``, with 4xx and 5xx among them."""
        totals = {"requests": 0, "client_errors": 0, "server_errors": 0}
        for sample in _totals(self.samples("scim_bridge_requests")):
            if not sample.labels.get("endpoint", "").startswith(endpoint_prefix):
                continue
            count = int(sample.value)
            totals["requests"] += count
            status = sample.labels.get("status", "")
            if status.startswith("4"):
                totals["client_errors"] += count
            elif status.startswith("5"):
                totals["server_errors"] += count
        return totals


def _totals(samples: Iterable[Sample]) -> Iterator[Sample]:
    return (s for s in samples if s.name.endswith("_total"))
