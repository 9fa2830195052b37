"""Periodic tasks: a schedule, a claims store, and one run per tick across processes.

``TaskSystem.every(name, schedule, fn)`` declares a periodic task once. Under
gunicorn every worker process declares it, so every process arms a timer for
each tick; before running a tick, each asks a shared **claims** store whether
it is the one. The store answers with an atomic compare-and-set ("the last
tick run of this name is older than this one: it is now this one"), so exactly
one process wins each tick and submits ``fn`` to its pool; the others count
the tick as run elsewhere.

Schedules compute **wall-clock** ticks, the same in every process: ``Every(60)``
ticks at each whole minute since the epoch; ``Cron("*/5 * * * *")`` (the
optional extra ``dualqueue[cron]``, through ``croniter``) ticks where cron
would. Timers run on the pool's clock, so a ``FakeClock`` drives them in tests.

Guarantees:

* **Never doubled.** A tick runs in at most one process sharing a store:
  ``LocalClaims`` (one process, the default), ``FileClaims`` (processes on one
  machine: ``fcntl.flock`` on one small file per name; the kernel releases the
  lock of a process that dies mid-claim), or any object with the ``Claims``
  protocol (the Django adapter's ``DatabaseClaims``).
* **Never lost without a record.** When the winner of a tick finds that the
  last tick run is older than the tick before it (no process was alive, or
  all were stalled), the ticks in between are counted as skipped, stored with
  the claim and shown. A process that fires late (its clock thread stalled
  past later ticks) runs the latest due tick once: no catch-up storm; the
  ticks it passed over are counted as skipped.
* **Never run blind.** A claims store that raises counts the tick as
  ``unclaimed`` (logged, shown as ``last_error``); the tick is not run.
* **User code cannot stop the timer.** Whatever the claims store or the
  pool raises (any ``BaseException``), the next tick is armed; nothing here
  runs under a pool's mutex, and the task itself runs on the pool.
* ``cancel()`` (``TaskSystem.shutdown`` and the exit drain call it) stops the
  timer, so no tick fires into a closed pool; after ``os.fork()`` the child
  re-arms its own timer (the parent's belongs to the parent).

Free-threading checklist (what still relies on the GIL): nothing. A
``Periodic``'s fields are read and written under its own lock (never held
while user code runs); ``LocalClaims`` has its own lock; ``FileClaims`` keeps
no state in memory. The registry of live periodics has its own lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from .clock import Clock, Handle, check_seconds
from .retry import task_name
from .stats import describe, iso

if TYPE_CHECKING:
    from .pool import WorkerPool

__all__ = [
    "Claim",
    "Claims",
    "Cron",
    "Every",
    "FileClaims",
    "LocalClaims",
    "Periodic",
    "Schedule",
]

logger = logging.getLogger("dualqueue")


# -- schedules -----------------------------------------------------------------


class Schedule(Protocol):
    """Wall-clock ticks, the same in every process that computes them."""

    def next_after(self, wall: float) -> float:
        """The first tick strictly after ``wall`` (seconds since the epoch)."""
        ...

    def at_or_before(self, wall: float) -> float:
        """The latest tick at or before ``wall``."""
        ...

    def previous(self, tick: float) -> float:
        """The tick before ``tick``."""
        ...

    def __str__(self) -> str:
        """The schedule as people write it, for the status picture."""
        ...


class Every:
    """A tick every ``seconds``, at whole multiples of ``seconds`` since the epoch.

    ``Every(60)`` ticks at the start of each minute (UTC), in every process
    alike, whenever each process started. ``seconds`` is a finite number > 0.

    >>> Every(60).next_after(1_700_000_030.0)
    1700000040.0
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        seconds = check_seconds("seconds", seconds)
        if seconds <= 0:
            raise ValueError(f"seconds must be > 0, got {seconds!r}")
        self.seconds = seconds

    def next_after(self, wall: float) -> float:
        """The first tick strictly after ``wall``."""
        tick = (math.floor(wall / self.seconds) + 1) * self.seconds
        return tick if tick > wall else tick + self.seconds  # float rounding

    def at_or_before(self, wall: float) -> float:
        """The latest tick at or before ``wall``."""
        tick = math.floor(wall / self.seconds) * self.seconds
        return tick if tick <= wall else tick - self.seconds

    def previous(self, tick: float) -> float:
        """The tick before ``tick``."""
        return (round(tick / self.seconds) - 1) * self.seconds

    def __str__(self) -> str:
        return f"every {self.seconds:g}s"

    def __repr__(self) -> str:
        return f"Every({self.seconds!r})"


class Cron:
    """A cron expression (``"*/5 * * * *"``), evaluated in UTC by ``croniter``.

    Needs the optional extra: ``pip install "dualqueue[cron]"``; the library is
    imported when the first ``Cron`` is built, and its absence raises an
    ``ImportError`` that names the extra. A malformed expression raises
    ``ValueError`` here, not at the first tick. ``croniter`` rather than a
    hand-written parser: it handles ranges, steps, names, ``L``/``#`` and
    day-of-month/day-of-week rules as cron does, and is widely used.
    """

    __slots__ = ("_croniter", "expression")

    def __init__(self, expression: str) -> None:
        if not isinstance(expression, str):
            raise TypeError(
                f"a cron expression is a str, got {type(expression).__name__}"
            )
        try:
            from croniter import croniter  # type: ignore[import-untyped,unused-ignore]
        except ImportError as exc:
            raise ImportError(
                "Cron schedules need the optional extra: "
                'pip install "dualqueue[cron]" (it installs croniter)'
            ) from exc
        if not croniter.is_valid(expression):
            raise ValueError(f"not a valid cron expression: {expression!r}")
        self.expression = expression
        self._croniter = croniter

    def _at(self, wall: float) -> datetime:
        return datetime.fromtimestamp(wall, tz=UTC)

    def next_after(self, wall: float) -> float:
        """The first tick strictly after ``wall``."""
        return float(self._croniter(self.expression, self._at(wall)).get_next(float))

    def at_or_before(self, wall: float) -> float:
        """The latest tick at or before ``wall``."""
        return self.previous(self.next_after(wall))

    def previous(self, tick: float) -> float:
        """The tick before ``tick``."""
        return float(self._croniter(self.expression, self._at(tick)).get_prev(float))

    def __str__(self) -> str:
        return f"cron {self.expression}"

    def __repr__(self) -> str:
        return f"Cron({self.expression!r})"


# -- claims --------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A claims store's answer for one tick.

    ``won``: this process runs the tick. ``last``: the last tick run before
    this claim (None if the name was never run). ``skipped``: the ticks the
    store has counted as skipped for this name so far, this claim included.
    """

    won: bool
    last: float | None
    skipped: int


class Claims(Protocol):
    """Where processes agree on who runs each tick of a periodic task.

    ``claim`` must be one atomic compare-and-set across every process sharing
    the store: if the last tick run of ``name`` is None or older than
    ``tick``, set it to ``tick`` and return ``won=True``; otherwise change
    nothing and return ``won=False``. When it wins and the last tick run is
    older than ``previous`` (the tick before ``tick``), the ticks strictly
    between them were run by nobody: add their number to the stored skipped
    count (``skipped_between`` computes it). It may raise; the tick is then
    not run and is counted as unclaimed.
    """

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Claim ``tick`` of ``name`` for this process, atomically."""
        ...


def skipped_between(last: float | None, tick: float, previous: float | None) -> int:
    """How many ticks fell strictly between ``last`` and ``tick``, given ``previous``.

    Exact for evenly spaced schedules (``Every``): the spacing is
    ``tick - previous``. For a cron schedule with uneven gaps it is the
    count at the latest spacing, at least 1 whenever a tick was missed.
    """
    if last is None or previous is None or last >= previous:
        return 0
    spacing = tick - previous
    if spacing <= 0:
        return 1
    return max(1, round((tick - last) / spacing) - 1)


class LocalClaims:
    """Claims kept in this process's memory: right for one process, the default.

    Two processes with a ``LocalClaims`` each would both run every tick: use
    ``FileClaims`` (or the Django adapter's ``DatabaseClaims``) under a server
    with several worker processes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._skipped: dict[str, int] = {}

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Claim ``tick`` of ``name``: see ``Claims``."""
        with self._lock:
            last = self._last.get(name)
            skipped = self._skipped.get(name, 0)
            if last is not None and last >= tick:
                return Claim(False, last, skipped)
            skipped += skipped_between(last, tick, previous)
            self._last[name] = tick
            self._skipped[name] = skipped
            return Claim(True, last, skipped)


class FileClaims:
    """Claims in one small file per name under ``directory``, for processes on one host.

    Each claim takes an exclusive ``fcntl.flock`` on the name's file, reads
    the last tick run and the skipped count, and writes the new record in
    one ``pwrite`` of a fixed-size block before unlocking. A process killed
    mid-claim loses its lock to the kernel and leaves either the old record or
    the new one, never half of one. The lock is waited for at most
    ``lock_timeout`` seconds (then the claim raises ``TimeoutError`` and the
    tick counts as unclaimed): a stopped process cannot stall the others'
    clock threads forever. The directory is created if missing. Records are
    not fsynced: they survive a killed process, not a power cut.
    """

    RECORD = 256  # bytes: every record is padded to this size

    def __init__(self, directory: str | os.PathLike[str], *, lock_timeout: float = 5.0):
        self.directory = Path(directory)
        self.lock_timeout = check_seconds("lock_timeout", lock_timeout)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The file that holds the claims of ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a periodic task needs a non-empty name, got {name!r}")
        safe = quote(name, safe="-_")
        if len(safe) > 150:
            import hashlib

            safe = safe[:100] + "-" + hashlib.sha256(name.encode()).hexdigest()[:16]
        return self.directory / f"{safe}.claim"

    def read(self, name: str) -> dict[str, Any]:
        """The stored record of ``name``: ``last``, ``pid``, ``skipped`` (for tests)."""
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
            return self._parse(os.pread(fd, self.RECORD, 0))
        finally:
            os.close(fd)  # closing releases the lock

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Claim ``tick`` of ``name``: see ``Claims``."""
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._lock(fd)
            record = self._parse(os.pread(fd, self.RECORD, 0))
            last, skipped = record["last"], record["skipped"]
            if last is not None and last >= tick:
                return Claim(False, last, skipped)
            skipped += skipped_between(last, tick, previous)
            data = json.dumps({"last": tick, "pid": os.getpid(), "skipped": skipped})
            block = data.encode().ljust(self.RECORD)
            if os.pwrite(fd, block, 0) != len(block):  # pragma: no cover - disk full
                raise OSError(errno.EIO, f"short write to {self.path(name)}")
            return Claim(True, last, skipped)
        finally:
            os.close(fd)

    def _lock(self, fd: int) -> None:
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"claims file lock held for over {self.lock_timeout}s"
                    ) from None
                time.sleep(0.005)

    @staticmethod
    def _parse(raw: bytes) -> dict[str, Any]:
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return {"last": None, "pid": None, "skipped": 0}
        record = json.loads(text)  # a corrupt file raises: the tick is not run blind
        last = record.get("last")
        skipped = record.get("skipped", 0)
        if not (last is None or isinstance(last, (int, float))) or not isinstance(
            skipped, int
        ):
            raise ValueError(f"corrupt claims record: {text[:100]!r}")
        return {"last": last, "pid": record.get("pid"), "skipped": skipped}


# -- the periodic task ---------------------------------------------------------


class Periodic:
    """One periodic task in this process: its timer, its claims, its counters.

    Built by ``TaskSystem.every``; ``start()`` arms the first tick. At each
    tick, on the clock's thread, it claims the tick from ``claims`` and, if it
    wins, submits ``fn(*args, **kwargs)`` to ``pool``; then it arms the next
    tick. ``cancel()`` stops it for good.
    """

    def __init__(
        self,
        name: str,
        schedule: Every | Cron | Schedule,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        pool: WorkerPool,
        clock: Clock,
        claims: Claims | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a periodic task needs a non-empty name, got {name!r}")
        if not callable(fn):
            raise TypeError(
                f"a periodic task must be callable, got {type(fn).__name__}"
            )
        for method in ("next_after", "at_or_before", "previous"):
            if not callable(getattr(schedule, method, None)):
                raise TypeError(
                    f"schedule must be Every(...) or Cron(...), got {schedule!r}"
                )
        if claims is not None and not callable(getattr(claims, "claim", None)):
            raise TypeError(f"claims must have a claim() method, got {claims!r}")
        self.name = name
        self.schedule = schedule
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.pool = pool
        self.clock = clock
        self.claims: Claims = claims if claims is not None else LocalClaims()
        self._reset()
        with _registry_lock:
            _live_periodics.add(self)

    def _reset(self) -> None:
        # Guards everything below; never held while user code runs.
        self._lock = threading.Lock()
        self._handle: Handle | None = None
        self._next_tick: float | None = None
        self._active = False  # started and not cancelled
        self.ran_here = 0
        self.ran_elsewhere = 0
        self.skipped = 0  # as the store last told this process
        self.unclaimed = 0  # ticks not run because the store failed
        self.refused = 0  # ticks won but refused by the pool (closed, full)
        self.last_tick: float | None = None  # the last tick any process ran, known here
        self.last_error: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<Periodic {self.name!r} {self.schedule}>"

    def start(self) -> None:
        """Arm the timer for the next tick. Harmless if already started."""
        with self._lock:
            if self._active:
                return
            self._active = True
        try:
            first = self.schedule.next_after(self.clock.wall())  # a user Schedule
        except BaseException:
            with self._lock:
                self._active = False  # stopped, not "active" with nothing armed
            raise
        self._arm(first)

    def cancel(self) -> None:
        """Stop for good: no tick fires after this returns (one already firing may)."""
        with self._lock:
            self._active = False
            handle, self._handle, self._next_tick = self._handle, None, None
        if handle is not None:
            handle.cancel()

    @property
    def active(self) -> bool:
        """True between ``start()`` and ``cancel()``."""
        with self._lock:
            return self._active

    def _arm(self, tick: float) -> None:
        delay = max(0.0, tick - self.clock.wall())
        try:
            handle = self.clock.call_later(delay, lambda: self._fire(tick))
        except BaseException as exc:  # a clock that cannot start its thread
            self._error(exc, "could not arm its next tick; it is stopped")
            with self._lock:
                self._active = False
            return
        with self._lock:
            if not self._active:  # cancelled meanwhile
                handle.cancel()
                return
            self._handle, self._next_tick = handle, tick

    def _fire(self, armed: float) -> None:
        # On the clock's thread. Whatever happens, the next tick is armed.
        with self._lock:
            if not self._active:
                return
            self._handle = None
        try:
            self._run_tick(armed)
        finally:
            with self._lock:
                active = self._active
            if active:
                wall = self.clock.wall()
                try:
                    upcoming = self.schedule.next_after(max(wall, armed))
                except BaseException as exc:  # a user Schedule
                    self._error(exc, "schedule failed; it is stopped")
                    with self._lock:
                        self._active = False
                else:
                    self._arm(upcoming)

    # --8<-- [start:run-tick]
    def _run_tick(self, armed: float) -> None:
        # Late (the clock thread stalled past later ticks): run the latest due
        # tick once; the store counts the ones passed over as skipped.
        tick = max(armed, self.schedule.at_or_before(self.clock.wall()))
        previous = self.schedule.previous(tick)
        try:
            claim = self.claims.claim(self.name, tick, previous)
            won, last, skipped = bool(claim.won), claim.last, int(claim.skipped)
        except BaseException as exc:
            with self._lock:
                self.unclaimed += 1
            self._error(exc, f"claims store failed; tick {iso(tick)} not run")
            return
        if won:
            try:
                self.pool.submit(self.fn, *self.args, **self.kwargs)
            except BaseException as exc:  # closed or full: the tick is not run
                with self._lock:
                    self.refused += 1
                    self.skipped = skipped
                    self.last_tick = tick
                self._error(exc, f"pool refused tick {iso(tick)}")
                return
        with self._lock:
            if won:
                self.ran_here += 1
                self.last_tick = tick
            else:
                self.ran_elsewhere += 1
                if last is not None and (
                    self.last_tick is None or last > self.last_tick
                ):
                    self.last_tick = last
            self.skipped = max(self.skipped, skipped)
    # --8<-- [end:run-tick]

    def _error(self, exc: BaseException, what: str) -> None:
        error_type, message = describe(exc)
        with self._lock:
            self.last_error = {
                "type": error_type,
                "message": message,
                "at": iso(self.clock.wall()),
            }
        with contextlib.suppress(BaseException):  # a log handler is user code
            logger.error(
                "dualqueue: periodic task %r: %s (%s: %s)",
                self.name,
                what,
                error_type,
                message,
            )

    def snapshot(self) -> dict[str, Any]:
        """The periodic task as the status picture shows it. JSON-ready."""
        name = task_name(self.fn)  # user code: outside the lock
        with self._lock:
            return {
                "schedule": str(self.schedule),
                "task": name,
                "queue": self.pool.name,
                "active": self._active,
                "next_tick_at": iso(self._next_tick),
                "last_tick_at": iso(self.last_tick),
                "ran_here": self.ran_here,
                "ran_elsewhere": self.ran_elsewhere,
                "skipped": self.skipped,
                "unclaimed": self.unclaimed,
                "refused": self.refused,
                "last_error": self.last_error,
            }

    def _rearm_in_child(self) -> None:
        # After fork: the parent's timer and counters are the parent's.
        handle, active = self._handle, self._active
        self._reset()
        if handle is not None:
            with contextlib.suppress(BaseException):
                handle.cancel()
        if active:
            try:
                self.start()
            except BaseException as exc:  # pragma: no cover - no thread at fork
                self._error(exc, "could not re-arm after fork")


# The registry is guarded by _registry_lock and always iterated as a copy.
_live_periodics: weakref.WeakSet[Periodic] = weakref.WeakSet()
_registry_lock = threading.Lock()


def live_periodics() -> list[Periodic]:
    """A copy of the registry of live periodic tasks."""
    with _registry_lock:
        return list(_live_periodics)


def cancel_all() -> None:
    """Cancel every periodic task in this process (the exit drain calls it)."""
    for periodic in live_periodics():
        periodic.cancel()


def _rearm_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()  # another thread may have held it at the fork
    for periodic in list(_live_periodics):
        periodic._rearm_in_child()


os.register_at_fork(after_in_child=_rearm_in_child)
