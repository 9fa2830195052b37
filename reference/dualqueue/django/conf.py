"""The ``DUALQUEUE`` setting: read when first needed, validated once, forgotten when it changes.

One settings entry configures the adapter::

    DUALQUEUE = {
        "POOLS": {"general": 2, "site": 10},   # pool name -> worker threads (each > 0)
        "EXIT_TIMEOUT": 25.0,                  # seconds a shutdown may spend draining
        "STATUS_ACCESS": "staff-or-token",     # or "staff", or "token"
        "RESULTS_KEPT": 1000,                  # TaskResults kept per backend alias; None = unbounded
        "RESULT_STORE": "memory",              # or "database": any process reads results (dualqueue.django.results)
    }

Every key is optional; a missing ``DUALQUEUE`` means the defaults above. Nothing is read at
import time, so ``override_settings(DUALQUEUE=...)`` works; the registry clears the cache (and
rebuilds its pools) when Django's ``setting_changed`` signal names ``DUALQUEUE``. A bad value
raises ``ImproperlyConfigured`` naming the key, what it got and what it accepts.
"""

from __future__ import annotations

import difflib
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["STATUS_ACCESS_CHOICES", "TOKEN_ENV_VAR", "DualqueueSettings", "clear_cache", "get_settings"]

STATUS_ACCESS_CHOICES = ("staff-or-token", "staff", "token")
TOKEN_ENV_VAR = "DUALQUEUE_STATUS_TOKEN"  # read per request by the views, never stored in settings

DEFAULTS: dict[str, Any] = {
    "POOLS": {"general": 2, "site": 10},
    "EXIT_TIMEOUT": 25.0,
    "STATUS_ACCESS": "staff-or-token",
    "RESULTS_KEPT": 1000,
    "RESULT_STORE": "memory",
}
RESULT_STORE_CHOICES = ("memory", "database")


@dataclass(frozen=True)
class DualqueueSettings:
    """``DUALQUEUE``, validated. ``results_kept=None`` means the result store is unbounded."""

    pools: Mapping[str, int]
    exit_timeout: float
    status_access: str
    results_kept: int | None
    result_store: str = "memory"

    @property
    def staff_allowed(self) -> bool:
        return self.status_access in ("staff-or-token", "staff")

    @property
    def token_allowed(self) -> bool:
        return self.status_access in ("staff-or-token", "token")


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
    return DualqueueSettings(
        pools=_pools(value["POOLS"]),
        exit_timeout=_exit_timeout(value["EXIT_TIMEOUT"]),
        status_access=_status_access(value["STATUS_ACCESS"]),
        results_kept=_results_kept(value["RESULTS_KEPT"]),
        result_store=_result_store(value["RESULT_STORE"]),
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


def _result_store(value: object) -> str:
    if value not in RESULT_STORE_CHOICES:
        choices = ", ".join(repr(choice) for choice in RESULT_STORE_CHOICES)
        raise ImproperlyConfigured(f'DUALQUEUE["RESULT_STORE"] must be one of {choices}; got {value!r}')
    assert isinstance(value, str)
    return value
