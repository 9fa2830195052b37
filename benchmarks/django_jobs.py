"""The Django tasks that ``benchmarks.django_enqueue`` enqueues, declared with the
Django Tasks API.

Importable only once Django is configured (``@task()`` validates against the
configured backends when the module is imported). A result refers to its task
by import path, so each task is a module-level name: one per backend alias.
The django-tasks-local tasks are in ``benchmarks.django_jobs_local`` (Django 6 only).
"""

from __future__ import annotations

import threading

try:  # Django 6: the framework is built in
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
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


@task(backend="immediate")
def noop_immediate(i: int) -> None:
    """Enqueued through Django's ImmediateBackend: it runs here, inside enqueue()."""
