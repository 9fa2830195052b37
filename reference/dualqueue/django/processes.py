"""One picture across processes: each worker process publishes its status picture; any process reads them all.

gunicorn runs several worker processes, each with its own pools. So that the status JSON, page
and metrics show *every* process whichever one answers, each process publishes its picture
(``registry.snapshot()`` plus who it is) to a shared directory, ``DUALQUEUE["PROCESSES_DIR"]``,
and the views read every picture there. It guarantees:

* **Off the request path.** A daemon thread per process, ``dualqueue-publisher``, publishes
  every ``PUBLISH_INTERVAL`` seconds. It is started lazily (by the first use of the process's
  ``TaskSystem`` or of a status view) and fork-safely: a forked child has no publisher thread,
  so the next use starts its own. A request pays one comparison of two ints to find that the
  publisher of this process is already running.
* **Atomic files.** A picture is written to a temporary file in the same directory, then
  ``os.replace``-d over the process's file: a reader sees the previous picture or the new one,
  never half of one.
* **Identity that survives pid reuse.** A process is ``(host, pid, start token)``. On Linux the
  start token is the process's start time from ``/proc/self/stat`` (ticks since boot) plus the
  boot id, so a new process that gets an old pid is another process, and a reader on the same
  host can tell at once that a pid's owner has changed. Elsewhere it is a random token drawn
  when the process first publishes.
* **The dead are shown, then forgotten.** A process whose picture is older than
  ``STALE_AFTER`` publish intervals, or whose pid on this host now belongs to another process
  (or to none), is *gone*; one that shut down cleanly said so (*exited*). Either is shown with
  what it left unfinished (queued and running tasks at its last publish) for ``GONE_KEPT``
  seconds, then its file is deleted.
* **Bounded reading.** At most ``MAX_FILES`` pictures of at most ``MAX_FILE_BYTES`` each are
  read; anything else in the directory is ignored.

A directory rather than the database: a heartbeat every two seconds from every process would
be a write transaction each time, and SQLite (the demo's default) has one writer at a time, the
same one the tasks need for their rows. The files need no migration, no connection per thread,
and nothing to clean up when the database is reset. They describe one host's processes, which
is what a gunicorn master's workers are; each host of a multi-host deployment has its own
picture (Prometheus scrapes each host).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dualqueue.stats import iso

__all__ = [
    "GONE_KEPT",
    "STALE_AFTER",
    "Identity",
    "collect",
    "ensure_publishing",
    "identity",
    "process_states",
    "publish_now",
    "stop_publishing",
]

logger = logging.getLogger("dualqueue")

STALE_AFTER = 5  # publish intervals without a word before a process counts as gone
GONE_KEPT = 3600.0  # seconds a gone or exited process stays on the page
MAX_FILES = 256
MAX_FILE_BYTES = 2_000_000
SUFFIX = ".process.json"


class Identity:
    """Who a process is: host, pid and a start token that a later process with the same pid does not share."""

    __slots__ = ("host", "key", "pid", "start_token")

    def __init__(self, host: str, pid: int, start_token: str) -> None:
        self.host, self.pid, self.start_token = host, pid, start_token
        self.key = f"{_safe(host)}-{pid}-{_safe(start_token)}"

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "start_token": self.start_token, "key": self.key}


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in text)[:64]


def _proc_start_ticks(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot, from /proc; None if unknown or not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    # After the ")" that ends the command name: state is field 3, starttime field 22 (proc(5)).
    if len(fields) < 20 or fields[0] in {"Z", "X"}:
        return None
    return fields[19]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""


# This process's identity and publisher. _lock guards _identity, _publisher and _publisher_pid;
# after a fork the child gets a fresh lock and no publisher (threads do not survive fork()).
_lock = threading.Lock()
_identity: Identity | None = None
_publisher: _Publisher | None = None
_publisher_pid = 0  # read without the lock on the request path: a stale read only takes the lock


def identity() -> Identity:
    """This process's identity (computed once per process)."""
    global _identity
    with _lock:
        if _identity is None or _identity.pid != os.getpid():
            pid = os.getpid()
            ticks = _proc_start_ticks(pid)
            token = f"{_boot_id()}.{ticks}" if ticks is not None else secrets.token_hex(6)
            _identity = Identity(socket.gethostname(), pid, token)
        return _identity


def _alive_on_this_host(record: dict[str, Any]) -> bool | None:
    """Whether the process of ``record`` still runs, if this host can tell; None if it cannot."""
    who = record.get("identity") or {}
    if who.get("host") != socket.gethostname():
        return None
    pid, token = who.get("pid"), str(who.get("start_token", ""))
    if not isinstance(pid, int) or "." not in token:  # a random token: only the heartbeat can tell
        return None
    boot, _, ticks = token.partition(".")
    if boot != _boot_id():
        return False  # published before this host's last boot
    return _proc_start_ticks(pid) == ticks


# -- publishing ---------------------------------------------------------------


class _Publisher(threading.Thread):
    """Publishes this process's picture every ``interval`` seconds until stopped."""

    def __init__(self, directory: Path, interval: float) -> None:
        super().__init__(name="dualqueue-publisher", daemon=True)
        self.directory, self.interval = directory, interval
        self.stopped = threading.Event()
        self._failures = 0

    def run(self) -> None:
        while True:
            try:
                publish_now(self.directory)
                self._failures = 0
            except Exception as exc:  # a full disk or a removed directory must not end the thread
                self._failures += 1
                if self._failures in (1, 10, 100) or self._failures % 1000 == 0:
                    logger.warning("dualqueue: could not publish this process's status (%d times): %s",
                                   self._failures, exc)
            if self.stopped.wait(self.interval):
                return


def ensure_publishing() -> None:
    """Start this process's publisher if it is not running; cheap when it is (one int comparison)."""
    global _publisher, _publisher_pid
    pid = os.getpid()
    if _publisher_pid == pid:
        return
    from . import conf

    settings = conf.get_settings()
    if settings.processes_dir is None:
        return
    with _lock:
        if _publisher_pid == pid:
            return
        directory = Path(settings.processes_dir)
        _publisher = _Publisher(directory, settings.publish_interval)
        _publisher_pid = pid
    _publisher.start()


def stop_publishing(*, exited: bool = True) -> None:
    """Stop this process's publisher; with ``exited``, publish a last picture that says it shut down.

    gunicorn's ``worker_exit`` hook calls it after the drain, so the page shows the worker as
    *exited* (with what its drain left) rather than as gone without a word.
    """
    global _publisher
    with _lock:
        publisher = _publisher if _publisher_pid == os.getpid() else None
        _publisher = None  # _publisher_pid stays: this process does not start another publisher
    if publisher is None:
        return
    publisher.stopped.set()
    if exited:
        try:
            publish_now(publisher.directory, exited=True)
        except Exception as exc:
            logger.warning("dualqueue: could not publish this process's exit: %s", exc)


def publish_now(directory: Path | str, *, exited: bool = False) -> Path:
    """Write this process's picture to ``directory`` atomically; return the file's path."""
    from . import registry

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    who = identity()
    record = {
        "identity": who.as_dict(),
        "published_at": time.time(),
        "exited": exited,
        "picture": registry.snapshot(),
    }
    data = json.dumps(record, separators=(",", ":"), default=str).encode()
    target = directory / f"{who.key}{SUFFIX}"
    fd, temp = tempfile.mkstemp(prefix=f".{who.key}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target


def _reset_in_child() -> None:
    global _lock, _publisher, _publisher_pid, _identity
    _lock = threading.Lock()
    _publisher, _publisher_pid, _identity = None, 0, None


os.register_at_fork(after_in_child=_reset_in_child)


# At interpreter exit (after the core's exit drain, which runs from the threading module's exit
# hook, before atexit's), a process whose publisher runs says it exited, with what the drain left.
# gunicorn workers say so earlier, from worker_exit; then this finds no publisher and does nothing.
atexit.register(stop_publishing)


# -- reading ------------------------------------------------------------------


def _read(directory: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    try:
        names = sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX))[:MAX_FILES]
    except OSError:
        return
    for path in names:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                continue
            record = json.loads(data)
        except (OSError, ValueError):
            continue  # removed meanwhile, or not ours
        if _well_formed(record):
            yield path, record


_COUNTERS = ("workers", "alive_workers", "queued", "running", "submitted", "succeeded", "failed", "dropped",
             "rejected")


def _well_formed(record: object) -> bool:
    """The shape ``publish_now`` writes: anything else in the folder (torn, foreign, hostile) is skipped."""
    if not isinstance(record, dict):
        return False
    who, picture = record.get("identity"), record.get("picture")
    if not isinstance(who, dict) or not isinstance(who.get("key"), str) or not _is_int(who.get("pid")):
        return False
    if not isinstance(record.get("published_at"), (int, float)) or not isinstance(picture, dict):
        return False
    pools, debouncers = picture.get("pools"), picture.get("debouncers", {})
    if not isinstance(pools, dict) or not isinstance(debouncers, dict):
        return False
    for pool in pools.values():
        if not isinstance(pool, dict) or not all(_is_int(pool.get(key, 0)) for key in _COUNTERS):
            return False
        for listed in (pool.get("recent", []), pool.get("dead_letters", [])):
            if not isinstance(listed, list) or not all(isinstance(entry, dict) for entry in listed):
                return False
    return all(isinstance(d, dict) for d in debouncers.values())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unfinished(picture: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        name: {"queued": int(pool.get("queued", 0)), "running": int(pool.get("running", 0))}
        for name, pool in picture.get("pools", {}).items()
        if pool.get("queued") or pool.get("running")
    }


def _state(record: dict[str, Any], age: float, stale_after: float) -> str:
    if record.get("exited"):
        return "exited"
    return "live" if age <= stale_after and _alive_on_this_host(record) is not False else "gone"


TOTALLED = (
    "workers", "alive_workers", "scheduled", "queued", "running", "submitted", "succeeded", "failed", "dropped",
    "rejected",
)  # fmt: skip


def collect(own_picture: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Every process's picture: ``{"processes": [...], "totals": {...}, "publishing": {...}}``.

    ``own_picture`` is this process's picture, fresher than its last publish: it replaces it.
    Live processes come first (oldest first), then exited and gone ones (most recent first).
    """
    from . import conf

    settings = conf.get_settings()
    now = time.time() if now is None else now
    me = identity()
    stale_after = STALE_AFTER * settings.publish_interval
    processes: list[dict[str, Any]] = []
    seen_me = False
    directory = None if settings.processes_dir is None else Path(settings.processes_dir)
    for path, record in _read(directory) if directory is not None else ():
        who = record.get("identity") or {}
        published = float(record.get("published_at") or 0.0)
        age = max(0.0, now - published)
        if who.get("key") == me.key:
            seen_me = True
            continue
        state = _state(record, age, stale_after)
        if state != "live" and age > GONE_KEPT:
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        processes.append(_entry(who, record["picture"], state, published, age, this=False))
    own = {"identity": me.as_dict()}
    processes.append(_entry(own["identity"], own_picture, "live", now, 0.0, this=True))
    live = sorted((p for p in processes if p["state"] == "live"), key=lambda p: p["started_at"] or "")
    dead = sorted((p for p in processes if p["state"] != "live"), key=lambda p: p["last_heard_seconds"])
    totals: dict[str, dict[str, int]] = {}
    for process in live:
        for name, pool in process["pools"].items():
            total = totals.setdefault(name, dict.fromkeys(TOTALLED, 0))
            for key in TOTALLED:
                total[key] += int(pool.get(key) or 0)
    return {
        "processes": live + dead,
        "totals": {"live_processes": len(live), "pools": totals},
        "publishing": {
            "where": str(directory) if directory is not None else None,
            "interval_seconds": settings.publish_interval,
            "gone_after_seconds": stale_after,
            "this_process_published": seen_me,
        },
    }


def _entry(
    who: dict[str, Any], picture: dict[str, Any], state: str, published: float, age: float, *, this: bool
) -> dict[str, Any]:
    return {
        "pid": who.get("pid"),
        "host": who.get("host"),
        "key": who.get("key"),
        "this": this,
        "state": state,
        "started_at": picture.get("started_at"),
        "last_heard_at": iso(published),
        "last_heard_seconds": round(age, 3),
        "pools": picture.get("pools", {}),
        "debouncers": picture.get("debouncers", {}),
        "periodic": picture.get("periodic", {}) if isinstance(picture.get("periodic", {}), dict) else {},
        "unfinished": _unfinished(picture) if state != "live" else {},
    }


def process_states(now: float | None = None) -> dict[str, str] | None:
    """Every published process's key -> ``"live"``, ``"exited"`` or ``"gone"``; None if publishing is off.

    This process is always ``"live"``. A key that is not in the answer is unknown here: a
    process that has not published yet, or one forgotten ``GONE_KEPT`` seconds after it died.
    """
    from . import conf

    settings = conf.get_settings()
    if settings.processes_dir is None:
        return None
    now = time.time() if now is None else now
    stale_after = STALE_AFTER * settings.publish_interval
    states = {}
    for _path, record in _read(Path(settings.processes_dir)):
        key = (record.get("identity") or {}).get("key")
        age = max(0.0, now - float(record.get("published_at") or 0.0))
        states[key] = _state(record, age, stale_after)
    states[identity().key] = "live"
    return states
