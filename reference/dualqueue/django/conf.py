"""The ``DUALQUEUE`` setting: read when first needed, validated once, forgotten when it changes.

One settings entry configures the adapter::

    DUALQUEUE = {
        "POOLS": {"general": 2, "site": 10},   # pool name -> worker threads (each > 0)
        "MAXSIZE": {},                         # pool name -> most tasks waiting, e.g. {"site": 200}
        "EXIT_TIMEOUT": 25.0,                  # seconds a shutdown may spend draining
        "STATUS_ACCESS": "staff-or-token",     # or "staff", or "token"
        "RESULTS_KEPT": 1000,                  # TaskResults kept per backend alias; None = unbounded
        "PROCESSES_DIR": "auto",               # where each process publishes its picture; None = off
        "PUBLISH_INTERVAL": 2.0,               # seconds between two publishes of a process's picture
        "RESULT_STORE": "memory",              # or "database": any process reads results (dualqueue.django.results)
        "PROGRESS_INTERVAL": 1.0,              # seconds between two writes of a task's progress to its result
        "PERIODIC": {},                        # name -> schedule: see below
    }

``PERIODIC`` declares periodic tasks: each entry enqueues a Django task at every tick of its
schedule, in exactly one process of the server (the processes share a claim per tick in the
database: ``dualqueue.django.claims.DatabaseClaims``)::

    "PERIODIC": {
        "reconcile-analyses": {"task": "esg.sites.tasks.reconcile_lost", "every": 300},
        "nightly-index": {"task": "esg.documents.tasks.rebuild", "cron": "0 3 * * *", "args": [], "kwargs": {}},
    }

``every`` is seconds (ticks at wall-clock multiples of it), ``cron`` a five-field expression
(needs ``dualqueue[cron]``); exactly one of them. ``args`` and ``kwargs`` must be JSON, as any
task's. The task's path is imported and checked by the system check (``dualqueue.E003``).

``PROCESSES_DIR="auto"`` means ``<BASE_DIR>/var/dualqueue-processes`` when the settings define
``BASE_DIR``, else a directory in the system's temporary directory named after the user and the
settings module (see ``dualqueue.django.processes``).

Every key is optional; a missing ``DUALQUEUE`` means the defaults above. Nothing is read at
import time, so ``override_settings(DUALQUEUE=...)`` works; the registry clears the cache (and
rebuilds its pools) when Django's ``setting_changed`` signal names ``DUALQUEUE``. A bad value
raises ``ImproperlyConfigured`` naming the key, what it got and what it accepts.

``MAXSIZE`` bounds a pool's queue: once that many tasks wait, a submit (a task's ``enqueue``)
raises ``dualqueue.QueueFullError`` at the caller, who can answer 503 at once instead of
growing a backlog nobody will wait for. A pool it does not name is unbounded; the default
bounds none, as ``WorkerPool`` does.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "STATUS_ACCESS_CHOICES",
    "TOKEN_ENV_VAR",
    "DualqueueSettings",
    "PeriodicEntry",
    "clear_cache",
    "get_settings",
]

STATUS_ACCESS_CHOICES = ("staff-or-token", "staff", "token")
TOKEN_ENV_VAR = "DUALQUEUE_STATUS_TOKEN"  # read per request by the views, never stored in settings

DEFAULTS: dict[str, Any] = {
    "POOLS": {"general": 2, "site": 10},
    "MAXSIZE": {},
    "EXIT_TIMEOUT": 25.0,
    "STATUS_ACCESS": "staff-or-token",
    "RESULTS_KEPT": 1000,
    "PROCESSES_DIR": "auto",
    "PUBLISH_INTERVAL": 2.0,
    "RESULT_STORE": "memory",
    "PROGRESS_INTERVAL": 1.0,
    "PERIODIC": {},
}
RESULT_STORE_CHOICES = ("memory", "database")


@dataclass(frozen=True)
class DualqueueSettings:
    """``DUALQUEUE``, validated. ``results_kept=None`` means the result store is unbounded.

    ``maxsize`` has an entry for every pool (0: unbounded).
    """

    pools: Mapping[str, int]
    exit_timeout: float
    status_access: str
    results_kept: int | None
    maxsize: Mapping[str, int] = field(default_factory=dict)
    processes_dir: str | None = None  # resolved: an absolute path, or None when publishing is off
    publish_interval: float = 2.0
    result_store: str = "memory"
    progress_interval: float = 1.0
    periodic: Mapping[str, PeriodicEntry] = field(default_factory=dict)

    @property
    def staff_allowed(self) -> bool:
        return self.status_access in ("staff-or-token", "staff")

    @property
    def token_allowed(self) -> bool:
        return self.status_access in ("staff-or-token", "token")


@dataclass(frozen=True)
class PeriodicEntry:
    """One ``DUALQUEUE["PERIODIC"]`` entry, validated (the task path is imported later, by the check)."""

    name: str
    task: str
    every: float | None
    cron: str | None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def schedule_text(self) -> str:
        return f"every {self.every:g} s" if self.every is not None else f"cron {self.cron}"


# The parsed settings, built once per value of settings.DUALQUEUE. Guarded by _lock so that two
# request threads arriving together validate once and agree on the result.
_lock = threading.Lock()
_cached: DualqueueSettings | None = None


def get_settings() -> DualqueueSettings:
    """The validated ``DUALQUEUE`` setting; raises ``ImproperlyConfigured`` if it is wrong."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = parse(getattr(settings, "DUALQUEUE", None))
        return _cached


def clear_cache() -> None:
    """Forget the parsed settings: the next ``get_settings()`` reads ``settings.DUALQUEUE`` again."""
    global _cached
    with _lock:
        _cached = None


def parse(raw: object) -> DualqueueSettings:
    """Validate a ``DUALQUEUE`` value (None means all defaults)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"DUALQUEUE must be a dict, got {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in DEFAULTS)
    if unknown:
        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := _close_to(key)) else repr(key) for key in unknown]
        raise ImproperlyConfigured(
            f"DUALQUEUE has unknown key(s) {', '.join(hints)}; the keys are {', '.join(sorted(DEFAULTS))}"
        )
    value = {**DEFAULTS, **raw}
    pools = _pools(value["POOLS"])
    return DualqueueSettings(
        pools=pools,
        maxsize=_maxsize(value["MAXSIZE"], pools),
        exit_timeout=_exit_timeout(value["EXIT_TIMEOUT"]),
        status_access=_status_access(value["STATUS_ACCESS"]),
        results_kept=_results_kept(value["RESULTS_KEPT"]),
        processes_dir=_processes_dir(value["PROCESSES_DIR"]),
        publish_interval=_publish_interval(value["PUBLISH_INTERVAL"]),
        result_store=_result_store(value["RESULT_STORE"]),
        progress_interval=_progress_interval(value["PROGRESS_INTERVAL"]),
        periodic=_periodic(value["PERIODIC"]),
    )


def _close_to(key: str) -> list[str]:
    return difflib.get_close_matches(key.upper(), list(DEFAULTS), n=1)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _pools(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping) or not value:
        raise ImproperlyConfigured(
            f'DUALQUEUE["POOLS"] must be a non-empty dict of pool name -> worker count, '
            f'e.g. {{"general": 2, "site": 10}}; got {value!r}'
        )
    pools: dict[str, int] = {}
    for name, workers in value.items():
        if not isinstance(name, str) or not name:
            raise ImproperlyConfigured(f'DUALQUEUE["POOLS"]: a pool name must be a non-empty string; got {name!r}')
        if name in _RESERVED_POOL_NAMES:
            raise ImproperlyConfigured(
                f'DUALQUEUE["POOLS"]: {name!r} cannot name a pool (TaskSystem takes it as an option)'
            )
        if not _is_int(workers) or workers < 1:
            raise ImproperlyConfigured(
                f'DUALQUEUE["POOLS"][{name!r}] must be a positive int (worker threads); got {workers!r}'
            )
        pools[name] = workers
    return pools


def _maxsize(value: object, pools: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f'DUALQUEUE["MAXSIZE"] must be a dict of pool name -> most tasks waiting, e.g. {{"site": 200}}; '
            f"got {value!r}"
        )
    for name, size in value.items():
        if name not in pools:
            raise ImproperlyConfigured(
                f'DUALQUEUE["MAXSIZE"] names {name!r}, which is not a pool; the pools are {sorted(pools)}'
            )
        if not _is_int(size) or size < 0:
            raise ImproperlyConfigured(
                f'DUALQUEUE["MAXSIZE"][{name!r}] must be an int >= 0 (0: unbounded); got {size!r}'
            )
    return {name: int(value.get(name, 0)) for name in pools}


_RESERVED_POOL_NAMES = frozenset({"clock", "exit_timeout"})  # TaskSystem's own keyword arguments


def _exit_timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ImproperlyConfigured(f'DUALQUEUE["EXIT_TIMEOUT"] must be a number of seconds >= 0; got {value!r}')
    return float(value)


def _status_access(value: object) -> str:
    if value not in STATUS_ACCESS_CHOICES:
        choices = ", ".join(repr(choice) for choice in STATUS_ACCESS_CHOICES)
        raise ImproperlyConfigured(f'DUALQUEUE["STATUS_ACCESS"] must be one of {choices}; got {value!r}')
    assert isinstance(value, str)
    return value


def _results_kept(value: object) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value < 0:
        raise ImproperlyConfigured(
            f'DUALQUEUE["RESULTS_KEPT"] must be an int >= 0 (results kept per backend) or None '
            f"(unbounded); got {value!r}"
        )
    return value


def _processes_dir(value: object) -> str | None:
    if value is None:
        return None
    if value == "auto":
        # parse() also validates a settings dict before Django is configured (a
        # project's own tests): then there is no BASE_DIR to read.
        readable = settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE")
        base = getattr(settings, "BASE_DIR", None) if readable else None
        if base:
            return os.path.abspath(os.path.join(str(base), "var", "dualqueue-processes"))
        module = os.environ.get("DJANGO_SETTINGS_MODULE", "settings")
        uid = os.getuid() if hasattr(os, "getuid") else 0
        where = hashlib.sha256(f"{os.getcwd()}\0{module}".encode()).hexdigest()[:12]
        return os.path.join(tempfile.gettempdir(), f"dualqueue-processes-{uid}-{_safe_name(module)}-{where}")
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ImproperlyConfigured(
            f'DUALQUEUE["PROCESSES_DIR"] must be a directory path, "auto" or None (no cross-process picture); '
            f"got {value!r}"
        )
    return os.path.abspath(value)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in text)[:64]


def _publish_interval(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not (0.05 <= value <= 3600)
    ):
        raise ImproperlyConfigured(
            f'DUALQUEUE["PUBLISH_INTERVAL"] must be a number of seconds between 0.05 and 3600; got {value!r}'
        )
    return float(value)


def _result_store(value: object) -> str:
    if value not in RESULT_STORE_CHOICES:
        choices = ", ".join(repr(choice) for choice in RESULT_STORE_CHOICES)
        raise ImproperlyConfigured(f'DUALQUEUE["RESULT_STORE"] must be one of {choices}; got {value!r}')
    assert isinstance(value, str)
    return value


def _progress_interval(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not (0 <= value <= 3600)
    ):
        raise ImproperlyConfigured(
            f'DUALQUEUE["PROGRESS_INTERVAL"] must be a number of seconds between 0 (write every report) and 3600; '
            f"got {value!r}"
        )
    return float(value)


PERIODIC_KEYS = ("task", "every", "cron", "args", "kwargs")
MIN_EVERY = 1.0  # seconds: a tick is a claim in the database, for every process


def _periodic(value: object) -> dict[str, PeriodicEntry]:
    where = 'DUALQUEUE["PERIODIC"]'
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f'{where} must be a dict of name -> {{"task": "dotted.path", "every": seconds}} (or "cron": "..."); '
            f"got {value!r}"
        )
    entries: dict[str, PeriodicEntry] = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ImproperlyConfigured(
                f"{where}: a name must be a non-empty string of at most 200 characters; got {name!r}"
            )
        here = f"{where}[{name!r}]"
        if not isinstance(spec, Mapping):
            raise ImproperlyConfigured(f'{here} must be a dict with "task" and "every" or "cron"; got {spec!r}')
        unknown = sorted(str(key) for key in spec if key not in PERIODIC_KEYS)
        if unknown:
            raise ImproperlyConfigured(f"{here} has unknown key(s) {unknown}; the keys are {list(PERIODIC_KEYS)}")
        task = spec.get("task")
        if not isinstance(task, str) or "." not in task or not all(part.isidentifier() for part in task.split(".")):
            raise ImproperlyConfigured(
                f'{here}["task"] must be the dotted path of a task (a function decorated with @task); got {task!r}'
            )
        has_every, has_cron = "every" in spec, "cron" in spec
        if has_every == has_cron:
            raise ImproperlyConfigured(f'{here} needs exactly one of "every" (seconds) and "cron" (an expression)')
        every, cron = spec.get("every"), spec.get("cron")
        if has_every and (
            isinstance(every, bool)
            or not isinstance(every, (int, float))
            or not math.isfinite(every)
            or every < MIN_EVERY
        ):
            raise ImproperlyConfigured(
                f'{here}["every"] must be a finite number of seconds >= {MIN_EVERY:g}; got {every!r}'
            )
        if has_cron and (not isinstance(cron, str) or not cron.strip()):
            raise ImproperlyConfigured(f'{here}["cron"] must be a cron expression such as "*/5 * * * *"; got {cron!r}')
        args, kwargs = spec.get("args", []), spec.get("kwargs", {})
        if not isinstance(args, (list, tuple)):
            raise ImproperlyConfigured(f'{here}["args"] must be a list; got {args!r}')
        if not isinstance(kwargs, Mapping) or not all(isinstance(k, str) for k in kwargs):
            raise ImproperlyConfigured(f'{here}["kwargs"] must be a dict with string keys; got {kwargs!r}')
        try:
            json.dumps([list(args), dict(kwargs)], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f'{here}: "args" and "kwargs" must be JSON (as any task\'s): {exc}') from None
        entries[name] = PeriodicEntry(
            name=name,
            task=task,
            every=float(every) if has_every else None,  # type: ignore[arg-type]
            cron=cron.strip() if has_cron else None,  # type: ignore[union-attr]
            args=tuple(args),
            kwargs=dict(kwargs),
        )
    return entries
