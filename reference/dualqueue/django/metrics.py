"""The status picture as Prometheus metrics, in the text exposition format.

One set of numbers, two renderers: through ``prometheus_client`` when it is installed (a
custom collector in a private registry, so nothing of the process's default registry leaks
out and nothing is registered twice), otherwise a small hand-written exposition of exactly the
same families. Every series carries a ``pid`` label: each gunicorn worker has its own pools,
and a scrape sees the worker that answered, so series from different workers must not merge
into one counter that seems to jump backwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONTENT_TYPE", "Family", "families", "render", "render_plain"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # of render_plain's output


@dataclass
class Family:
    """One metric: its name (counters without ``_total``), type, help, and labelled samples."""

    name: str
    kind: str  # "gauge" or "counter"
    help: str
    labels: tuple[str, ...]
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


_POOL_GAUGES = (
    ("workers", "workers", "Worker threads configured for the pool."),
    ("alive_workers", "alive_workers", "Worker threads alive (0 until the pool's first task)."),
    ("queued", "queued", "Tasks waiting in the pool's queue, including those waiting for a retry."),
    ("running", "running", "Tasks running now."),
)
_POOL_COUNTERS = (
    ("tasks_submitted", "submitted", "Tasks accepted by the pool."),
    ("tasks_succeeded", "succeeded", "Tasks that returned."),
    ("tasks_failed", "failed", "Tasks that raised (after any retries)."),
    ("tasks_dropped", "dropped", "Tasks removed unrun at shutdown."),
    ("tasks_rejected", "rejected", "Submits refused because the queue was full."),
    ("retries", "retried", "Retry attempts scheduled."),
)
_DEBOUNCER_COUNTERS = (
    ("triggers", "triggers", "Triggers received."),
    ("runs", "runs", "Runs of the debounced function."),
    ("delivered", "delivered", "Items delivered to runs."),
    ("failed_runs", "failed_runs", "Runs that raised."),
    ("dropped", "dropped", "Items dropped (cancelled, or refused by the pool)."),
)


def families(picture: dict[str, Any]) -> list[Family]:
    """The metric families of a status picture (``registry.snapshot()``)."""
    pid = str(picture["pid"])
    out: list[Family] = []
    pools = picture["pools"]
    for suffix, key, text in _POOL_GAUGES:
        fam = Family(f"dualqueue_pool_{suffix}", "gauge", text, ("pid", "pool"))
        fam.samples = [((pid, name), float(p[key])) for name, p in pools.items()]
        out.append(fam)
    oldest = Family(
        "dualqueue_pool_oldest_queued_seconds", "gauge",
        "Age of the oldest task waiting in the queue (0 when none waits).", ("pid", "pool"),
    )
    oldest.samples = [((pid, name), float(p["oldest_queued_seconds"] or 0.0)) for name, p in pools.items()]
    out.append(oldest)
    letters = Family(
        "dualqueue_pool_dead_letters", "gauge", "Finally-failed tasks kept in the pool's dead-letter ring.",
        ("pid", "pool"),
    )
    letters.samples = [((pid, name), float(len(p["dead_letters"]))) for name, p in pools.items()]
    out.append(letters)
    for suffix, key, text in _POOL_COUNTERS:
        fam = Family(f"dualqueue_pool_{suffix}", "counter", text, ("pid", "pool"))
        fam.samples = [((pid, name), float(p[key])) for name, p in pools.items()]
        out.append(fam)
    debouncers = picture["debouncers"]
    pending = Family(
        "dualqueue_debouncer_pending_items", "gauge", "Items waiting for the debouncer's next run.",
        ("pid", "debouncer"),
    )
    pending.samples = [((pid, name), float(d["pending_items"])) for name, d in debouncers.items()]
    out.append(pending)
    for suffix, key, text in _DEBOUNCER_COUNTERS:
        fam = Family(f"dualqueue_debouncer_{suffix}", "counter", text, ("pid", "debouncer"))
        fam.samples = [((pid, name), float(d[key])) for name, d in debouncers.items()]
        out.append(fam)
    backends = picture["results"]["backends"]
    kept = Family(
        "dualqueue_results_kept", "gauge", "TaskResults kept in this process's memory.", ("pid", "backend")
    )
    kept.samples = [((pid, alias), float(s["kept"])) for alias, s in backends.items()]
    evicted = Family(
        "dualqueue_results_evicted", "counter", "TaskResults evicted from the bounded store, oldest first.",
        ("pid", "backend"),
    )
    evicted.samples = [((pid, alias), float(s["evicted"])) for alias, s in backends.items()]
    out += [kept, evicted]
    return out


def render(picture: dict[str, Any]) -> tuple[str, str]:
    """``(exposition text, content type)``, through ``prometheus_client`` if installed, else by hand."""
    try:
        from prometheus_client import CONTENT_TYPE_LATEST
    except ImportError:
        return render_plain(picture), CONTENT_TYPE
    return _render_with_client(picture), CONTENT_TYPE_LATEST


def _render_with_client(picture: dict[str, Any]) -> str:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import Collector

    class StatusCollector(Collector):
        def collect(self) -> Iterator[Any]:
            for fam in families(picture):
                cls = CounterMetricFamily if fam.kind == "counter" else GaugeMetricFamily
                metric = cls(fam.name, fam.help, labels=list(fam.labels))
                for values, value in fam.samples:
                    metric.add_metric(list(values), value)
                yield metric

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector())
    return generate_latest(registry).decode("utf-8")


def render_plain(picture: dict[str, Any]) -> str:
    """The same families in the text format, without ``prometheus_client``."""
    lines: list[str] = []
    for fam in families(picture):
        name = f"{fam.name}_total" if fam.kind == "counter" else fam.name
        lines.append(f"# HELP {name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {name} {fam.kind}")
        for values, value in fam.samples:
            labels = ",".join(f'{key}="{_escape_label(v)}"' for key, v in zip(fam.labels, values, strict=True))
            lines.append(f"{name}{{{labels}}} {value!r}")
    return "\n".join(lines) + "\n"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
