"""The Django tasks that ``benchmarks.django_enqueue`` enqueues, declared with the
Django Tasks API.

Importable only once Django is configured (``@task()`` validates against the
configured backends when the module is imported). A result refers to its task
by import path, so each task is a module-level name: one per backend.
"""

from __future__ import annotations

import threading

from django_tasks import task

gate = threading.Event()  # replaced per repeat by the benchmark
entered = threading.Semaphore(0)
drained = threading.Event()


@task()
def noop(i: int) -> None:
    """Enqueued through DualqueueBackend (the "default" alias)."""


@task()
def hold() -> None:
    """Holds a general worker until the benchmark opens the gate."""
    entered.release()
    gate.wait()


@task()
def mark_drained() -> None:
    drained.set()


@task(backend="db")
def noop_db(i: int) -> None:
    """Enqueued through django_tasks_db.DatabaseBackend (the "db" alias)."""
