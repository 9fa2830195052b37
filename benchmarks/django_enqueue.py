"""Enqueue cost through the Django Tasks API, measured in a process of its own.

Run by ``benchmarks.enqueue`` as ``python -m benchmarks.django_enqueue``: Django
is configured once per process, so these rows get a fresh interpreter with
minimal settings (SQLite in a temporary directory) and print one JSON line.

The rows, same kind of task function, same ``task.enqueue(i)`` call, one process
(run it on Django 6.1: ``make bench`` uses the Django 6.1 virtualenv for this child,
so django-tasks-local can take part):

* ``DualqueueBackend`` with the in-memory result store, and again with the database
  result store (the row copy is handed to the writer thread; the table is written off
  the timed path, but the writer competes for the GIL while the loop runs): the
  general pool's two workers held on a gate so only the enqueue is timed.
* Django's ``ImmediateBackend``: no background at all, the task runs inside
  ``enqueue()``.
* ``django_tasks_local.ThreadPoolBackend`` (django-tasks-local 2.0, Django 6 only): a
  ``ThreadPoolExecutor`` behind ``django.tasks``, its two threads held on a gate
  likewise.
* ``django_tasks_db.DatabaseBackend`` on SQLite: one row inserted per task, no
  ``db_worker``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from .measure import DEADLOCK, per_op_ns, skipped

DUALQUEUE_BACKEND = "dualqueue.django.backend.DualqueueBackend"


def _configure(database: Path) -> str | None:
    """Configure Django with every backend; return why the dualqueue backend is
    unavailable, if it is."""
    import importlib.util

    import django
    from django.conf import settings

    problem: str | None = None
    try:
        import dualqueue.django.backend  # noqa: F401
        from dualqueue.django.compat import TASKS_APPS
    except Exception as exc:
        problem = (
            f"dualqueue.django.backend not importable: {type(exc).__name__}: {exc}"
        )
        TASKS_APPS = ()
    immediate = "django.tasks.backends.immediate.ImmediateBackend"
    if not TASKS_APPS and importlib.util.find_spec("django.tasks") is None:
        immediate = "django_tasks.backends.immediate.ImmediateBackend"
    if TASKS_APPS:
        immediate = "django_tasks.backends.immediate.ImmediateBackend"
    apps = [*TASKS_APPS, "django_tasks_db"]
    tasks: dict[str, Any] = {
        "db": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
        "immediate": {"BACKEND": immediate, "QUEUES": ["default"]},
    }
    if LOCAL_AVAILABLE:
        tasks["local"] = {
            "BACKEND": "django_tasks_local.ThreadPoolBackend",
            "OPTIONS": {"MAX_WORKERS": 2},
        }
    if problem is None:
        apps.append("dualqueue.django")
        tasks["default"] = {
            "BACKEND": DUALQUEUE_BACKEND,
            "QUEUES": ["default", "site"],
            "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
        }
    else:
        tasks["default"] = {
            "BACKEND": immediate.replace(
                "immediate.ImmediateBackend", "dummy.DummyBackend"
            )
        }
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="benchmarks",
        INSTALLED_APPS=apps,
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(database),
                "OPTIONS": {
                    "timeout": 20,
                    "init_command": (
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    ),
                },
            }
        },
        TASKS=tasks,
        DUALQUEUE=DUALQUEUE_SETTINGS,
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return problem


def _local_available() -> bool:
    import importlib.util

    find = importlib.util.find_spec
    return find("django_tasks_local") is not None and find("django.tasks") is not None


LOCAL_AVAILABLE = _local_available()
DUALQUEUE_SETTINGS = {
    "POOLS": {"general": 2, "site": 10},
    "EXIT_TIMEOUT": 5.0,
    "RESULTS_KEPT": 1000,
}


def _held_row(
    enqueue: Any,
    hold: Any,
    mark_drained: Any,
    n: int,
    repeats: int,
    *,
    flush: Any = None,
    profile: bool = False,
) -> dict[str, Any]:
    """Time ``enqueue(i)`` with both consuming threads held on a gate (tasks pile up,
    none runs)."""
    import threading

    from . import django_jobs as jobs

    def before() -> None:
        jobs.gate = threading.Event()
        jobs.drained.clear()
        for _ in range(2):
            hold.enqueue()
        for _ in range(2):
            if not jobs.entered.acquire(timeout=DEADLOCK):
                raise TimeoutError("the workers did not pick up the holding tasks")

    def loop(k: int) -> None:
        for i in range(k):
            enqueue(i)

    def after() -> None:
        jobs.gate.set()
        mark_drained.enqueue()
        if not jobs.drained.wait(DEADLOCK):
            raise TimeoutError("the pool did not drain")
        if flush is not None and not flush(DEADLOCK):
            raise TimeoutError("the result store did not write its rows")

    measured = per_op_ns(loop, n, repeats, before=before, after=after)
    if profile:
        before()
        try:
            measured["profile"] = _profile(enqueue, min(n, 2000))
        finally:
            after()
    return measured


def _dualqueue_row(n: int, repeats: int, store: str) -> dict[str, Any]:
    from django.test.utils import override_settings
    from dualqueue.django import registry

    from . import django_jobs as jobs

    with override_settings(DUALQUEUE={**DUALQUEUE_SETTINGS, "RESULT_STORE": store}):
        flush = registry.result_store("default").flush
        row = _held_row(
            jobs.noop.enqueue,
            jobs.hold,
            jobs.mark_drained,
            n,
            repeats,
            flush=flush,
            profile=True,
        )
        registry.shutdown(DEADLOCK)
    return row


def _local_row(n: int, repeats: int) -> dict[str, Any]:
    from . import django_jobs_local as local

    return _held_row(
        local.noop_local.enqueue, local.hold_local, local.mark_drained_local, n, repeats
    )


def _immediate_row(n: int, repeats: int) -> dict[str, Any]:
    from . import django_jobs as jobs

    def loop(k: int) -> None:
        enqueue = jobs.noop_immediate.enqueue
        for i in range(k):
            enqueue(i)

    return per_op_ns(loop, n, repeats)


def _profile(enqueue: Any, n: int, top: int = 8) -> list[dict[str, Any]]:
    """Where one enqueue's time goes: the calls with the largest cumulative share, under
    cProfile.

    cProfile slows every call down, so the shares are indicative; the timing
    above is the real cost.
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(n):
        enqueue(i)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(cumulative for (_, _, _, cumulative, _) in stats.values())
    ranked = sorted(stats.items(), key=lambda item: item[1][3], reverse=True)
    out = []
    for (filename, line, function), (_, calls, _, cumulative, _) in ranked[1 : top + 1]:
        where = "/".join(Path(filename).parts[-2:]) if filename != "~" else "builtin"
        out.append(
            {
                "call": f"{where}:{line}({function})",
                "calls_per_enqueue": round(calls / n, 2),
                "share": round(cumulative / total, 3),
            }
        )
    return out


def _database_row(n: int, repeats: int) -> dict[str, Any]:
    from django_tasks_db.models import DBTaskResult

    from . import django_jobs as jobs

    def clear() -> None:
        DBTaskResult.objects.all().delete()

    def loop(k: int) -> None:
        enqueue = jobs.noop_db.enqueue
        for i in range(k):
            enqueue(i)

    jobs.noop_db.enqueue(-1)  # open the connection outside the timed loop
    return per_op_ns(loop, n, repeats, before=clear, after=clear)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--broker-n", type=int, default=200)
    parser.add_argument("--broker-repeats", type=int, default=3)
    options = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dualqueue-bench-django-") as tmp:
        problem = _configure(Path(tmp) / "bench.sqlite3")
        import django

        line = django.get_version()
        measured: list[tuple[str, str, Any]] = [
            ("Django Tasks -> DualqueueBackend (memory store)", "dualqueue",
             lambda: _dualqueue_row(options.n, options.repeats, "memory")),
            ("Django Tasks -> DualqueueBackend (database store)", "dualqueue",
             lambda: _dualqueue_row(options.n, options.repeats, "database")),
            ("Django ImmediateBackend (runs inline)", "in-process",
             lambda: _immediate_row(options.n, options.repeats)),
            ("django-tasks-local ThreadPoolBackend", "in-process",
             (lambda: _local_row(options.n, options.repeats))
             if LOCAL_AVAILABLE else None),
            ("django-tasks-db (SQLite)", "broker",
             lambda: _database_row(options.broker_n, options.broker_repeats)),
        ]  # fmt: skip
        for name, kind, measure in measured:
            if measure is None:
                rows.append(
                    {
                        "name": name,
                        "kind": kind,
                        **skipped("django-tasks-local needs Django 6 (Python 3.12+)"),
                    }
                )
            elif problem is not None and "DualqueueBackend" in name:
                rows.append({"name": name, "kind": kind, **skipped(problem)})
            else:
                try:
                    rows.append(
                        {"name": name, "kind": kind, "django": line, **measure()}
                    )
                except Exception as exc:
                    rows.append(
                        {
                            "name": name,
                            "kind": kind,
                            **skipped(f"{type(exc).__name__}: {exc}"),
                        }
                    )
        from django.db import connections

        connections.close_all()
    print(json.dumps(rows))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
