"""System checks (``manage.py check``, ``runserver``): setups that would fail, or fail quietly, later.

=================  ===========================================================================
id                 what it finds
=================  ===========================================================================
dualqueue.E001     ``DUALQUEUE`` is invalid (the message says which key and why)
dualqueue.E002     a ``DualqueueBackend`` in ``TASKS`` is misconfigured (a queue without a pool...)
dualqueue.E003     a ``DUALQUEUE["PERIODIC"]`` entry names no task, or a schedule the core refuses
dualqueue.W001     ``EXIT_TIMEOUT`` leaves no margin inside gunicorn's graceful timeout
dualqueue.W002     SQLite busy timeout below sqlite3's own default of 5 s
dualqueue.W003     SQLite in deferred transaction mode while worker threads write
dualqueue.W004     the result store is unbounded (``RESULTS_KEPT: None``; from the backend's check)
dualqueue.W005     ``STATUS_ACCESS`` is ``"token"`` but no token is set: nobody can read the status
dualqueue.I001     ``DUALQUEUE`` is set but no ``TASKS`` backend uses it
dualqueue.I002     ``DEBUG`` is on and no status token is set: the status is for staff sessions only
=================  ===========================================================================

Several processes (gunicorn workers) are fine, and not a check: each has its own pools,
queues, results and status (the status shows its pid). The guide says what that means.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf

__all__ = ["check_dualqueue", "sqlite_messages"]

BACKEND_PATH = "dualqueue.django.backend.DualqueueBackend"
SQLITE_DEFAULT_TIMEOUT = 5.0  # what sqlite3.connect waits for a lock when no timeout is given


@checks.register("dualqueue")
def check_dualqueue(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every dualqueue check; registered when the app loads."""
    try:
        dq = conf.get_settings()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint=(
                    "DUALQUEUE takes POOLS, MAXSIZE, EXIT_TIMEOUT, STATUS_ACCESS, RESULTS_KEPT, PROCESSES_DIR, "
                    "PUBLISH_INTERVAL, RESULT_STORE, PROGRESS_INTERVAL and PERIODIC; see dualqueue.django.conf."
                ),
                id="dualqueue.E001",
            )
        ]
    messages: list[checks.CheckMessage] = []
    ours = _our_backends()
    messages += _check_backends(ours)
    if hasattr(settings, "DUALQUEUE") and not ours:
        messages.append(
            checks.Info(
                f"DUALQUEUE is set, but no TASKS backend is {BACKEND_PATH}: tasks do not run on its pools.",
                hint=f'Set TASKS["default"]["BACKEND"] to "{BACKEND_PATH}" (or remove DUALQUEUE).',
                id="dualqueue.I001",
            )
        )
    messages += _check_periodic(dq)
    messages += _check_exit_timeout(dq)
    if ours:
        messages += sqlite_messages(settings.DATABASES)
    token_set = bool(os.environ.get(conf.TOKEN_ENV_VAR))
    if dq.status_access == "token" and not token_set:
        messages.append(
            checks.Warning(
                f'DUALQUEUE["STATUS_ACCESS"] is "token" but {conf.TOKEN_ENV_VAR} is not set: '
                f"every request to the status endpoints is refused.",
                hint=f'Set {conf.TOKEN_ENV_VAR} in the environment, or use "staff-or-token".',
                id="dualqueue.W005",
            )
        )
    elif settings.DEBUG and dq.token_allowed and not token_set:
        messages.append(
            checks.Info(
                f"{conf.TOKEN_ENV_VAR} is not set: the status endpoints answer staff sessions only.",
                hint=f"Set {conf.TOKEN_ENV_VAR} to read /background-tasks/status/ with curl or Prometheus "
                f"(Authorization: Bearer <token>).",
                id="dualqueue.I002",
            )
        )
    return messages


def _our_backends() -> dict[str, dict[str, Any]]:
    tasks = getattr(settings, "TASKS", None)
    if not isinstance(tasks, dict):
        return {}
    return {
        alias: params
        for alias, params in tasks.items()
        if isinstance(params, dict) and params.get("BACKEND") == BACKEND_PATH
    }


def _check_backends(ours: dict[str, dict[str, Any]]) -> list[checks.CheckMessage]:
    from .backend import DualqueueBackend

    messages: list[checks.CheckMessage] = []
    for alias, params in ours.items():
        try:
            DualqueueBackend(alias, params)  # builds nothing: validates QUEUES against the pools
        except ImproperlyConfigured as exc:
            messages.append(
                checks.Error(
                    str(exc),
                    hint='Every queue in QUEUES needs a pool: OPTIONS["QUEUE_POOLS"] maps queue names to '
                    'pool names from DUALQUEUE["POOLS"] ("default" goes to "general" unless mapped).',
                    id="dualqueue.E002",
                )
            )
    return messages


def _check_periodic(dq: conf.DualqueueSettings) -> list[checks.CheckMessage]:
    from .registry import periodic_task

    messages: list[checks.CheckMessage] = []
    for name, entry in dq.periodic.items():
        try:
            task = periodic_task(entry)
            if entry.cron is not None:
                from dualqueue import Cron

                Cron(entry.cron)  # a bad expression (or the missing extra) fails here, not at the first tick
            task.get_backend().validate_task(task)
        except Exception as exc:
            messages.append(
                checks.Error(
                    f'DUALQUEUE["PERIODIC"][{name!r}]: {exc}',
                    hint='Each entry is {"task": "dotted.path.to.a.task", "every": seconds} or {"task": ..., '
                    '"cron": "*/5 * * * *"} (cron needs: pip install "dualqueue[cron]").',
                    id="dualqueue.E003",
                )
            )
    return messages


def _check_exit_timeout(dq: conf.DualqueueSettings) -> list[checks.CheckMessage]:
    from .gunicorn import EXIT_MARGIN, config_from_env

    graceful = config_from_env(os.environ)["graceful_timeout"]
    if dq.exit_timeout <= graceful - EXIT_MARGIN:
        return []
    return [
        checks.Warning(
            f'DUALQUEUE["EXIT_TIMEOUT"] is {dq.exit_timeout:g} s, but gunicorn kills a worker {graceful} s '
            f"after asking it to stop: worker_exit will drain for at most {max(0, graceful - EXIT_MARGIN):g} s.",
            hint=f"Keep EXIT_TIMEOUT at least {EXIT_MARGIN:g} s under the graceful timeout "
            f"(GUNICORN_GRACEFUL_TIMEOUT, read by dualqueue.django.gunicorn), or raise that.",
            id="dualqueue.W001",
        )
    ]


def sqlite_messages(databases: Mapping[str, Mapping[str, Any]]) -> list[checks.CheckMessage]:
    """W002/W003 for each SQLite database in ``databases`` (``settings.DATABASES``)."""
    messages: list[checks.CheckMessage] = []
    for alias, db in databases.items():
        if not str(db.get("ENGINE", "")).endswith("sqlite3"):
            continue
        options = db.get("OPTIONS") or {}
        timeout = options.get("timeout", SQLITE_DEFAULT_TIMEOUT)
        if isinstance(timeout, (int, float)) and timeout < SQLITE_DEFAULT_TIMEOUT:
            messages.append(
                checks.Warning(
                    f"Database {alias!r} (SQLite) waits only {timeout:g} s for a lock, and task threads write "
                    f"beside request threads: expect 'database is locked' errors.",
                    hint='Set DATABASES[...]["OPTIONS"]["timeout"] to 20 or so.',
                    id="dualqueue.W002",
                )
            )
        if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
            messages.append(
                checks.Warning(
                    f"Database {alias!r} (SQLite) starts transactions DEFERRED: a transaction that reads "
                    f"and then writes fails at once with 'database is locked' when a task thread holds "
                    f"the write lock, whatever the busy timeout.",
                    hint='Set DATABASES[...]["OPTIONS"]["transaction_mode"] = "IMMEDIATE" (Django 5.1+), '
                    'and "init_command": "PRAGMA journal_mode=WAL;" so readers do not wait for writers.',
                    id="dualqueue.W003",
                )
            )
    return messages
