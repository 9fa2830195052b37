"""A gunicorn configuration for a Django project with in-process task pools.

Use it as it is::

    gunicorn -c python:dualqueue.django.gunicorn demo.wsgi

or import its hooks into your own configuration module::

    from dualqueue.django.gunicorn import post_fork, post_worker_init, worker_exit, worker_int, worker_abort

Defaults, each overridable from the environment (a bad value fails at startup, naming it):

=================  ===============================  =====================================
setting            default                          environment variable
=================  ===============================  =====================================
bind               ``0.0.0.0:$PORT`` (port 8000)    ``GUNICORN_BIND``, ``PORT``
workers            2                                ``WEB_CONCURRENCY``
threads            4                                ``GUNICORN_THREADS``
worker_class       ``gthread``                      ``GUNICORN_WORKER_CLASS``
graceful_timeout   30                               ``GUNICORN_GRACEFUL_TIMEOUT``
preload_app        True                             ``GUNICORN_PRELOAD`` (0/1)
=================  ===============================  =====================================

Why these hooks, and why ``--preload`` is safe here: threads do not survive ``fork()``, so a
pool started in the master would have no workers in the children, and a backlog queued in the
master would run once in every child. The pools are lazy (nothing starts before the first
task) and fork-safe (a forked child gets fresh, empty pools and an empty registry), so nothing
needs starting in ``post_fork``: it only logs. The hook that matters is ``worker_exit``: it
drains this worker's pools before the process ends, for as long as gunicorn will wait, and logs
what finished, what was dropped and what was still running, by task name.

Each worker process has its own pools, queues and results: two workers are two independent
task systems, and ``/background-tasks/status/`` shows the one that answered (its ``pid``).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any

__all__ = [
    "EXIT_MARGIN",
    "config_from_env",
    "drain_budget",
    "post_fork",
    "post_worker_init",
    "worker_abort",
    "worker_exit",
    "worker_int",
]

logger = logging.getLogger("dualqueue.django.gunicorn")

EXIT_MARGIN = 2.0  # seconds kept back from gunicorn's graceful timeout: logging the report, exiting


def _int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be 0 or 1 (or true/false), got {raw!r}")


def config_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The gunicorn settings this module sets, read from ``environ``."""
    port = _int(environ, "PORT", 8000, 1)
    return {
        "bind": environ.get("GUNICORN_BIND") or f"0.0.0.0:{port}",
        "workers": _int(environ, "WEB_CONCURRENCY", 2, 1),
        "threads": _int(environ, "GUNICORN_THREADS", 4, 1),
        "worker_class": environ.get("GUNICORN_WORKER_CLASS") or "gthread",
        "graceful_timeout": _int(environ, "GUNICORN_GRACEFUL_TIMEOUT", 30, 1),
        "preload_app": _flag(environ, "GUNICORN_PRELOAD", True),
    }


_config = config_from_env(os.environ)
bind = _config["bind"]
workers = _config["workers"]
threads = _config["threads"]
worker_class = _config["worker_class"]
graceful_timeout = _config["graceful_timeout"]
preload_app = _config["preload_app"]


# When this worker was asked to stop (SIGTERM), by time.monotonic(). gunicorn's master kills the
# worker graceful_timeout seconds after sending SIGTERM, and the worker first spends part of that
# finishing its requests: the drain may only use what is left. Set in the worker's main thread
# by the signal handler installed in post_worker_init; None if the worker stops for another reason.
_stop_requested_at: float | None = None


# --8<-- [start:drain-budget]
def drain_budget(
    graceful: float, exit_timeout: float, stop_requested_at: float | None, now: float
) -> float:
    """Seconds ``worker_exit`` may drain: ``EXIT_TIMEOUT``, but never past gunicorn's
    kill minus a margin."""
    spent = 0.0 if stop_requested_at is None else max(0.0, now - stop_requested_at)
    return max(0.0, min(exit_timeout, graceful - EXIT_MARGIN - spent))
# --8<-- [end:drain-budget]


def post_fork(server: Any, worker: Any) -> None:
    """In the new worker: log it. Nothing to start: pools start on their first task, fresh in this process."""
    logger.info("dualqueue: worker %s forked; its pools start on their first task", os.getpid())


def post_worker_init(worker: Any) -> None:
    """Note when SIGTERM arrives (chaining gunicorn's own handler), so the drain knows its deadline."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        global _stop_requested_at
        if _stop_requested_at is None:
            _stop_requested_at = time.monotonic()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.siginterrupt(signal.SIGTERM, False)  # as gunicorn sets it: do not break active requests
    from . import processes

    processes.ensure_publishing()  # an idle worker shows on the status page too, before its first request
    from . import registry

    # Build (and start) this worker's task system now, not at its first request: deferred tasks
    # waiting in the database are scheduled again, and the periodic tasks are armed, even in a
    # worker that no request has reached yet.
    registry.get_task_system()


def worker_exit(server: Any, worker: Any) -> None:
    """Drain this worker's pools within gunicorn's graceful timeout and log the ``ShutdownReport``.

    gunicorn also calls this hook in the master for a worker it found dead: then there is
    nothing of that worker's to drain here, and the master's own registry must stay untouched.
    """
    if getattr(worker, "pid", None) != os.getpid():
        return
    from . import conf, registry

    budget = drain_budget(
        float(server.cfg.graceful_timeout), conf.get_settings().exit_timeout, _stop_requested_at, time.monotonic()
    )
    report = registry.shutdown(budget)
    from . import processes

    processes.stop_publishing(exited=True)  # the page shows this worker as exited, with what the drain left
    if report is None:
        logger.info("dualqueue: worker %s exiting; it never ran a task", os.getpid())
        return
    level = logging.INFO if report.complete else logging.WARNING
    logger.log(
        level,
        "dualqueue: worker %s drained for %.1fs (budget %.1fs): %d finished, %d dropped %s, %d still running %s",
        os.getpid(), report.elapsed, budget, report.finished,
        len(report.dropped), list(report.dropped), len(report.still_running), list(report.still_running),
    )


def worker_int(worker: Any) -> None:
    """SIGINT/SIGQUIT: the worker exits now; ``worker_exit`` still drains what it can."""
    logger.warning("dualqueue: worker %s interrupted (SIGINT/SIGQUIT); draining in worker_exit", os.getpid())


def worker_abort(worker: Any) -> None:
    """SIGABRT, sent when a worker missed its heartbeat: log it; ``worker_exit`` then drains what it can.

    This runs inside the signal handler, on the main thread, which may have been interrupted
    while holding a pool's lock: so it reads no pool. ``worker_exit`` runs after the handler's
    ``SystemExit`` has unwound (and released) whatever the main thread held.
    """
    logger.warning("dualqueue: worker %s aborted by gunicorn (timeout); draining in worker_exit", os.getpid())
