"""The tasks of the django-tasks-local row (``ThreadPoolBackend``, the "local" alias;
Django 6 only)."""

from __future__ import annotations

from django.tasks import task  # type: ignore[import-not-found,unused-ignore]

from . import django_jobs


@task(backend="local")
def noop_local(i: int) -> None:
    """Enqueued through django_tasks_local.ThreadPoolBackend."""


@task(backend="local")
def hold_local() -> None:
    """Holds one of the executor's threads until the benchmark opens the gate."""
    django_jobs.entered.release()
    django_jobs.gate.wait()


@task(backend="local")
def mark_drained_local() -> None:
    django_jobs.drained.set()
