"""Enqueue cost through the Django Tasks API, measured in a process of its own.

Run by ``benchmarks.enqueue`` as ``python -m benchmarks.django_enqueue``: Django
is configured once per process, so these rows get a fresh interpreter with
minimal settings (SQLite in a temporary directory) and print one JSON line.

Two rows, same task function, same ``task.enqueue(i)`` call:

* ``DualqueueBackend``: the in-process pools behind the Django Tasks API, the
  general pool's two workers held on a gate so only the enqueue is timed.
* ``django_tasks_db.DatabaseBackend`` on SQLite: one row inserted per task,
  no ``db_worker`` running.
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
    """Configure Django with both backends; return why the dualqueue backend is
    unavailable, if it is."""
    import django
    from django.conf import settings

    problem: str | None = None
    try:
        import dualqueue.django.backend  # noqa: F401
    except Exception as exc:
        problem = (
            f"dualqueue.django.backend not importable: {type(exc).__name__}: {exc}"
        )
    apps = ["django_tasks", "django_tasks_db"]
    tasks: dict[str, Any] = {
        "db": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    if problem is None:
        apps.append("dualqueue.django")
        tasks["default"] = {
            "BACKEND": DUALQUEUE_BACKEND,
            "QUEUES": ["default", "site"],
            "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
        }
    else:
        tasks["default"] = {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="benchmarks",
        INSTALLED_APPS=apps,
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}
        },
        TASKS=tasks,
        DUALQUEUE={
            "POOLS": {"general": 2, "site": 10},
            "EXIT_TIMEOUT": 5.0,
            "RESULTS_KEPT": 1000,
        },
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return problem


def _dualqueue_row(n: int, repeats: int) -> dict[str, Any]:
    import threading

    from . import django_jobs as jobs

    def before() -> None:
        jobs.gate = threading.Event()
        jobs.drained.clear()
        for _ in range(2):
            jobs.hold.enqueue()
        for _ in range(2):
            if not jobs.entered.acquire(timeout=DEADLOCK):
                raise TimeoutError(
                    "the general workers did not pick up the holding tasks"
                )

    def loop(k: int) -> None:
        enqueue = jobs.noop.enqueue
        for i in range(k):
            enqueue(i)

    def after() -> None:
        jobs.gate.set()
        jobs.mark_drained.enqueue()
        if not jobs.drained.wait(DEADLOCK):
            raise TimeoutError("the general pool did not drain")

    measured = per_op_ns(loop, n, repeats, before=before, after=after)
    before()
    try:
        measured["profile"] = _profile(jobs.noop.enqueue, min(n, 2000))
    finally:
        after()
    return measured


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
        name = "Django Tasks -> DualqueueBackend"
        if problem is not None:
            rows.append({"name": name, "kind": "in-process", **skipped(problem)})
        else:
            try:
                rows.append(
                    {
                        "name": name,
                        "kind": "in-process",
                        **_dualqueue_row(options.n, options.repeats),
                    }
                )
            except Exception as exc:
                rows.append(
                    {
                        "name": name,
                        "kind": "in-process",
                        **skipped(f"{type(exc).__name__}: {exc}"),
                    }
                )
        name = "django-tasks-db (SQLite)"
        try:
            rows.append(
                {
                    "name": name,
                    "kind": "broker",
                    **_database_row(options.broker_n, options.broker_repeats),
                }
            )
        except Exception as exc:
            rows.append(
                {
                    "name": name,
                    "kind": "broker",
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
