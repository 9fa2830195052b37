"""Opt-in retries: a policy attached to a task, and dead letters for those that gave up.

A task opts in by being wrapped, as a decorator on its definition or at the call:
``@Retry(attempts=5, base_delay=2.0, retry_on=(TimeoutError,))`` above
``def analyse_site(site_id)``, or at the call,
``tasks.submit("site", Retry(attempts=5)(analyse_site), 42)``.

When an attempt raises one of ``retry_on`` and attempts remain, the pool asks
its clock to requeue the task after the backoff delay. Nothing holds a worker
while a retry waits. The task counts as ``queued`` (and ``retrying``) meanwhile,
so the pool's invariant ``submitted == queued + running + succeeded + failed +
dropped`` holds throughout. A task that fails for the last time is ``failed``
and is recorded as a ``DeadLetter`` in a bounded ring on its pool.

Calling a wrapped function directly calls it once: the policy is the pool's
business, not the function's.

Free-threading checklist (what still relies on the GIL): nothing. ``Retry``
and ``DeadLetter`` are frozen; ``task_name`` reads attributes of the task
and keeps no state.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar

from .clock import check_seconds

__all__ = ["DeadLetter", "Retry", "Retrying"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Retry:
    """Bounded attempts with exponential backoff and jitter.

    The delay before attempt ``n + 1`` (after ``n`` failures) is
    ``min(max_delay, base_delay * factor ** (n - 1))`` scaled by a random
    factor in ``[1 - jitter, 1]``: ``jitter=0`` is plain exponential backoff,
    ``jitter=1`` is "full jitter", the default ``0.5`` keeps at least half of
    the delay while still spreading out clients that failed together.
    """

    attempts: int = 3
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.5
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        attempts = self.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be an int >= 1, got {attempts!r}")
        check_seconds("base_delay", self.base_delay)
        check_seconds("max_delay", self.max_delay)
        if check_seconds("factor", self.factor) < 1:
            raise ValueError(
                f"factor must be a finite number >= 1, got {self.factor!r}"
            )
        jitter = self.jitter
        if (
            isinstance(jitter, bool)
            or not isinstance(jitter, (int, float))
            or not 0 <= jitter <= 1
        ):
            raise ValueError(f"jitter must be a number between 0 and 1, got {jitter!r}")
        if not callable(self.rng):
            raise TypeError(f"rng must be callable, got {type(self.rng).__name__}")
        if not self.retry_on or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in self.retry_on
        ):
            raise TypeError(
                f"retry_on must be a tuple of exception classes, got {self.retry_on!r}"
            )

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts (``failures >= 1``).

        Finite for any ``failures``: past the point where the exponential
        would overflow a float (about the 1025th failure with ``factor=2``),
        the delay is simply ``max_delay``.
        """
        if self.base_delay == 0:
            return 0.0
        try:
            raw = self.base_delay * self.factor ** (failures - 1)
        except OverflowError:
            raw = math.inf
        ceiling = min(self.max_delay, raw)
        return ceiling * (1 - self.jitter * self.rng())

    def should_retry(self, exc: BaseException, failures: int) -> bool:
        """True if a task that failed ``failures`` times so far gets another attempt."""
        return failures < self.attempts and isinstance(exc, self.retry_on)

    def __call__(self, fn: Callable[P, R]) -> Retrying[P, R]:
        """Use the policy as a decorator: ``@Retry(attempts=5)``."""
        return Retrying(fn, self)


class Retrying(Generic[P, R]):
    """A callable carrying its retry policy. Calling it calls ``fn`` once."""

    def __init__(self, fn: Callable[P, R], policy: Retry) -> None:
        if not callable(fn):
            raise TypeError(f"Retry needs a callable, got {type(fn).__name__}")
        self.fn = fn
        self.policy = policy
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Retrying {task_name(self.fn)} {self.policy!r}>"


@dataclass(frozen=True)
class DeadLetter:
    """A task that failed for the last time: what and why, never its arguments."""

    task: str
    attempts: int
    error_type: str
    message: str
    failed_at: float  # wall-clock seconds since the epoch

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as the snapshot shows it (``failed_at`` in ISO 8601, UTC)."""
        from .stats import iso  # local: stats imports this module

        return {
            "task": self.task,
            "attempts": self.attempts,
            "error_type": self.error_type,
            "message": self.message,
            "failed_at": iso(self.failed_at),
        }


NAME_LIMIT = 200  # characters of a task's name kept in reports and snapshots


def task_name(fn: object) -> str:
    """A stable, human name for a callable: ``module.qualname``; never its arguments.

    A callable may name itself with a string attribute ``task_name`` (a debouncer's
    runs are reported as ``debouncer 'name'``, not as a method of the class).
    Reading names runs user code (``__getattr__``, properties): whatever it
    raises or returns, this returns a short ``str``, falling back to the
    callable's type and then to ``"<unnamed task>"``.
    """
    try:
        name = _name_of(fn)
    except BaseException:  # a hostile __getattr__ must not escape into a worker
        name = None
    if name is None:
        name = _type_name(fn)
    if len(name) > NAME_LIMIT:
        name = name[: NAME_LIMIT - 1] + "…"
    return name


def _text(value: object) -> str | None:
    # Only real strings count: a str subclass could override anything.
    return str.__str__(value) if isinstance(value, str) and value else None


def _name_of(fn: object) -> str | None:
    explicit = _text(getattr(fn, "task_name", None))
    if explicit is not None:
        return explicit
    target = fn
    for _ in range(100):  # unwrap Retrying and partial, never without end
        if issubclass(type(target), Retrying):
            target = target.fn  # type: ignore[attr-defined]
        elif issubclass(type(target), functools.partial):
            target = target.func  # type: ignore[attr-defined]
        else:
            break
    module = _text(getattr(target, "__module__", None))
    qualname = _text(getattr(target, "__qualname__", None))
    if qualname is None:  # an instance with __call__: name its class
        qualname = _text(type(target).__qualname__)
    if qualname is None:
        return None
    return f"{module}.{qualname}" if module else qualname


def _type_name(fn: object) -> str:
    try:
        kind = type(fn)
        module = _text(kind.__module__)
        qualname = _text(kind.__qualname__)
    except BaseException:  # a metaclass can make even these raise
        return "<unnamed task>"
    if qualname is None:
        return "<unnamed task>"
    return f"{module}.{qualname}" if module and module != "builtins" else qualname
