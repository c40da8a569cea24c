"""Prometheus text metrics kept in process memory."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += value
        self.n += 1


class Metrics:
    """Counters and histograms with labels, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._histograms: dict[str, dict[tuple[tuple[str, str], ...], Histogram]] = defaultdict(dict)
        self._gauges: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
        self._help: dict[str, tuple[str, str]] = {}

    def inc(self, name: str, help_text: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help[name] = ("counter", help_text)
            series = self._counters[name]
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, help_text: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help[name] = ("histogram", help_text)
            series = self._histograms[name]
            series.setdefault(key, Histogram()).observe(value)

    def set(self, name: str, help_text: str, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help[name] = ("gauge", help_text)
            self._gauges[name][key] = value

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._help):
                kind, help_text = self._help[name]
                lines.append(f"# HELP {name} {help_text}")
                lines.append(f"# TYPE {name} {kind}")
                if kind == "counter":
                    for key, value in sorted(self._counters[name].items()):
                        lines.append(f"{name}{_labels(key)} {value:g}")
                elif kind == "gauge":
                    for key, value in sorted(self._gauges[name].items()):
                        lines.append(f"{name}{_labels(key)} {value:g}")
                else:
                    for key, hist in sorted(self._histograms[name].items()):
                        running = 0
                        for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                            running += count
                            le = "+Inf" if bound == float("inf") else f"{bound:g}"
                            lines.append(f"{name}_bucket{_labels((*key, ('le', le)))} {running}")
                        lines.append(f"{name}_sum{_labels(key)} {hist.total:.6f}")
                        lines.append(f"{name}_count{_labels(key)} {hist.n}")
        return "\n".join(lines) + "\n"


def _labels(key: tuple[tuple[str, str], ...]) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
