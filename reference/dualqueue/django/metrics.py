"""The status picture as Prometheus metrics, in the text exposition format.

One set of numbers, two renderers: through ``prometheus_client`` when it is installed (a
custom collector in a private registry, so nothing of the process's default registry leaks
out and nothing is registered twice), otherwise a small hand-written exposition of exactly the
same families. Every series carries a ``pid`` label: each gunicorn worker has its own pools,
and series from different workers must not merge into one counter that seems to jump backwards.

Whichever worker answers the scrape, the series of *every* live worker are in it (read from the
pictures each process publishes, see ``processes``). This is the equivalent of
``prometheus_client``'s multiprocess mode, which does not fit here: it cannot serve custom
collectors (our numbers are a snapshot, not client-side counters), it sums counters across
processes into one series, and it needs its directory wiped between server runs.
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


def _live(picture: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(pid, pools, debouncers) of every live process in the picture (just this one without ``processes``)."""
    if "processes" not in picture:
        return [(str(picture["pid"]), picture["pools"], picture["debouncers"])]
    return [
        (str(p["pid"]), p["pools"], p["debouncers"]) for p in picture["processes"] if p["state"] == "live"
    ]


def families(picture: dict[str, Any]) -> list[Family]:
    """The metric families of a status picture (``views.picture()``, or one process's ``registry.snapshot()``).

    Pool and debouncer series come from every live process, each labelled with its own pid, so
    no series ever mixes two processes' counters. ``dualqueue_processes`` counts processes by
    state, and ``dualqueue_process_unfinished_tasks`` says what a gone or exited process left.
    """
    pid = str(picture["pid"])
    live = _live(picture)
    out: list[Family] = []
    for suffix, key, text in _POOL_GAUGES:
        fam = Family(f"dualqueue_pool_{suffix}", "gauge", text, ("pid", "pool"))
        fam.samples = [((p, name), float(pool[key])) for p, pools, _ in live for name, pool in pools.items()]
        out.append(fam)
    oldest = Family(
        "dualqueue_pool_oldest_queued_seconds", "gauge",
        "Age of the oldest task waiting in the queue (0 when none waits).", ("pid", "pool"),
    )
    oldest.samples = [
        ((p, name), float(pool["oldest_queued_seconds"] or 0.0)) for p, pools, _ in live for name, pool in pools.items()
    ]
    out.append(oldest)
    letters = Family(
        "dualqueue_pool_dead_letters", "gauge", "Finally-failed tasks kept in the pool's dead-letter ring.",
        ("pid", "pool"),
    )
    letters.samples = [
        ((p, name), float(len(pool["dead_letters"]))) for p, pools, _ in live for name, pool in pools.items()
    ]
    out.append(letters)
    scheduled = Family(
        "dualqueue_pool_scheduled", "gauge", "Deferred tasks waiting for their time (holding no worker).",
        ("pid", "pool"),
    )
    scheduled.samples = [
        ((p, name), float(pool.get("scheduled") or 0)) for p, pools, _ in live for name, pool in pools.items()
    ]
    out.append(scheduled)
    progress = Family(
        "dualqueue_task_progress_ratio", "gauge",
        "How far each running task that reported a total is (0 to 1), by worker slot.", ("pid", "pool", "slot", "task"),
    )
    progress.samples = [
        ((p, name, str(slot), str(task.get("name"))), float(task["progress"]["fraction"]))
        for p, pools, _ in live
        for name, pool in pools.items()
        for slot, task in enumerate(pool.get("running_tasks") or ())
        if isinstance(task.get("progress"), dict) and task["progress"].get("fraction") is not None
    ]
    out.append(progress)
    for suffix, key, text in _POOL_COUNTERS:
        fam = Family(f"dualqueue_pool_{suffix}", "counter", text, ("pid", "pool"))
        fam.samples = [((p, name), float(pool[key])) for p, pools, _ in live for name, pool in pools.items()]
        out.append(fam)
    pending = Family(
        "dualqueue_debouncer_pending_items", "gauge", "Items waiting for the debouncer's next run.",
        ("pid", "debouncer"),
    )
    pending.samples = [((p, name), float(d["pending_items"])) for p, _, ds in live for name, d in ds.items()]
    out.append(pending)
    for suffix, key, text in _DEBOUNCER_COUNTERS:
        fam = Family(f"dualqueue_debouncer_{suffix}", "counter", text, ("pid", "debouncer"))
        fam.samples = [((p, name), float(d[key])) for p, _, ds in live for name, d in ds.items()]
        out.append(fam)
    if "processes" in picture:
        out += _process_families(picture["processes"])
    out += _periodic_families(picture)
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


_PERIODIC_COUNTERS = (
    ("ran_here", "Ticks of the schedule this process claimed and ran."),
    ("ran_elsewhere", "Ticks of the schedule another process claimed (so this one did not run them)."),
    ("skipped", "Ticks nobody ran (no process alive, or all stalled), as recorded with the claims."),
    ("unclaimed", "Ticks not run because the claims store failed (never run blind)."),
)


def _periodic_families(picture: dict[str, Any]) -> list[Family]:
    """Each periodic schedule, per live process (``ran_here``...) from the core's picture of it."""
    live = [(str(picture["pid"]), picture.get("periodic") or {})]
    if "processes" in picture:
        live = [(str(p["pid"]), p.get("periodic") or {}) for p in picture["processes"] if p["state"] == "live"]
    out = []
    for key, text in _PERIODIC_COUNTERS:
        fam = Family(f"dualqueue_periodic_{key}", "counter", text, ("pid", "schedule"))
        fam.samples = [
            ((pid, name), float(entry.get(key) or 0))
            for pid, schedules in live
            for name, entry in schedules.items()
            if isinstance(entry, dict)
        ]
        out.append(fam)
    return out


def _process_families(processes: list[dict[str, Any]]) -> list[Family]:
    counts = Family("dualqueue_processes", "gauge", "Worker processes by state: live, exited or gone.", ("state",))
    counts.samples = [
        ((state,), float(sum(p["state"] == state for p in processes))) for state in ("live", "exited", "gone")
    ]
    heard = Family(
        "dualqueue_process_last_heard_seconds", "gauge", "Seconds since the process last published its picture.",
        ("pid", "process", "state"),
    )
    heard.samples = [((str(p["pid"]), str(p["key"]), p["state"]), float(p["last_heard_seconds"])) for p in processes]
    left = Family(
        "dualqueue_process_unfinished_tasks", "gauge",
        "Tasks a process that exited or died left queued or running at its last publish.",
        ("pid", "process", "pool", "kind"),
    )
    left.samples = [
        ((str(p["pid"]), str(p["key"]), name, kind), float(counts_[kind]))
        for p in processes
        for name, counts_ in p["unfinished"].items()
        for kind in ("queued", "running")
    ]
    return [counts, heard, left]


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
