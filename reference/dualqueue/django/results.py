"""Where a backend keeps its ``TaskResult``s: this process's memory, or the project's database.

``DUALQUEUE["RESULT_STORE"]`` chooses, and ``DualqueueBackend.supports_get_result`` says honestly
what each gives (both frameworks define the flag as "results can be read from any thread or
process"):

==============  ==============================================  ======================
store           who can read a result, for how long             ``supports_get_result``
==============  ==============================================  ======================
``"memory"``    this process only, until it exits               ``False``
``"database"``  any process, across restarts (a table, an ORM)  ``True``
==============  ==============================================  ======================

Both keep the latest ``RESULTS_KEPT`` results per backend alias and count what they evict
(the database store evicts finished rows only: see ``DatabaseResultStore._trim``).

The database store never writes on the request path: ``enqueue`` and the worker threads hand a
copy of the result's fields to one writer thread per process (a ``queue.SimpleQueue`` put), which
writes them in batches (one upsert per batch, the latest state of each result) and trims the
table to ``RESULTS_KEPT``. Until a result's row is written, this process answers from memory, so
``get_result`` right after ``enqueue`` finds it here; another process finds it once the writer
has caught up (milliseconds, or ``flush()``).

Each row names its process: the host, the pid, and that pid's start identity (on Linux the boot
id and the process's start time from ``/proc``; elsewhere a random token), since pids are reused.
A row left ``READY`` or ``RUNNING`` by a process that no longer exists is **lost**: ``get_result``
reports it ``FAILED`` with a ``dualqueue.django.results.TaskLost`` error naming the process, and
``lost()`` lists every such row, for a status page. A row from another host is never called lost
from here (this host cannot see that host's processes); ``lost()`` says which hosts it could not
judge.

A deferred task (``run_after``) is the exception to "never on the request path": its row is
written at once, in the caller's thread, so that it outlives this process. Such a ``READY`` row is
not lost when its process dies: it waits for any process, which claims it at its time
(``claim``: one conditional ``UPDATE`` ``READY`` -> ``RUNNING``); ``deferred()`` lists them for a
process that starts, to schedule them again.

Progress (``dualqueue.django.report_progress``) is kept with the result (``set_progress``) and
written with its row; ``progress(result_id)`` reads it back, from any process with the database.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import secrets
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from .compat import Task, TaskError, TaskResult, TaskResultDoesNotExist, TaskResultStatus

__all__ = [
    "DatabaseResultStore",
    "LostResult",
    "MemoryResultStore",
    "ProcessIdentity",
    "TaskLost",
    "process_alive",
    "this_process",
]

logger = logging.getLogger("dualqueue.django.results")

UNFINISHED = (TaskResultStatus.READY, TaskResultStatus.RUNNING)


class TaskLost(Exception):
    """The process that held a task exited before the task finished (its row is ``READY``/``RUNNING``)."""


class MemoryResultStore:
    """The most recent ``TaskResult``s of one backend alias, in this process's memory, oldest evicted first.

    ``limit=None`` keeps every result (the ``dualqueue.W004`` check warns about it); ``limit=0``
    keeps none, and counts each as evicted. Another process cannot read them.
    """

    kind = "memory"
    shared = False  # readable from other processes?

    def __init__(self, limit: int | None, alias: str = "default") -> None:
        self.alias = alias
        self.limit = limit
        # Guards _results and _evicted. Held only for dict operations, never while a task runs.
        self._lock = threading.Lock()
        self._results: dict[str, TaskResult[Any]] = {}  # insertion-ordered: the first key is the oldest
        self._progress: dict[str, dict[str, Any]] = {}  # result id -> its last progress (see set_progress)
        self._evicted = 0

    def add(self, result: TaskResult[Any]) -> None:
        with self._lock:
            self._results[result.id] = result
            if self.limit is not None:
                while len(self._results) > self.limit:
                    oldest = next(iter(self._results))
                    del self._results[oldest]
                    self._progress.pop(oldest, None)
                    self._evicted += 1

    def claim(self, result: TaskResult[Any]) -> bool:
        """A deferred task about to run: this process is the only one that has it, so yes."""
        return True

    def set_progress(self, result: TaskResult[Any], current: float, total: float | None, message: str) -> None:
        with self._lock:
            if result.id in self._results:
                self._progress[result.id] = _progress_record(current, total, message)

    def progress(self, result_id: str) -> dict[str, Any] | None:
        """The last progress the task of ``result_id`` reported (``current``, ``total``, ``fraction``...), or None."""
        with self._lock:
            return self._progress.get(result_id)

    def deferred(self) -> list[TaskResult[Any]]:
        """Nothing to schedule again: a process's memory dies with it."""
        return []

    def save(self, result: TaskResult[Any]) -> None:
        """A transition of a result already added: nothing to do, the store holds the object itself."""

    def get(self, result_id: str) -> TaskResult[Any]:
        """The result with this id; ``TaskResultDoesNotExist`` if unknown, evicted, or from another process."""
        with self._lock:
            try:
                return self._results[result_id]
            except (KeyError, TypeError):
                raise TaskResultDoesNotExist(result_id) from None

    def flush(self, timeout: float | None = None) -> bool:
        return True

    def lost(self) -> list[LostResult]:
        """Nothing: a process's memory dies with it, so nobody is left to report its results."""
        return []

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"kept": len(self._results), "limit": self.limit, "evicted": self._evicted}


def _progress_record(current: float, total: float | None, message: str) -> dict[str, Any]:
    fraction = None if not total else max(0.0, min(1.0, current / total))
    return {"current": current, "total": total, "fraction": fraction, "message": message, "at": timezone.now()}


# -- which process is this, and is that one still alive? ---------------------------------------


@dataclass(frozen=True)
class ProcessIdentity:
    """A process, told apart from a later one that reuses its pid."""

    host: str
    pid: int
    start: str  # "<boot id>:<start time in clock ticks>" from /proc, or "token:<random>" elsewhere


def _proc_start(pid: int) -> str | None:
    """``pid``'s start identity from ``/proc`` (Linux), or None if there is no such process or no ``/proc``."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{boot}:{fields[19]}"  # field 22 of stat, starttime


_identity: ProcessIdentity | None = None


def this_process() -> ProcessIdentity:
    """This process's identity (computed again in a forked child, which is another process)."""
    global _identity
    if _identity is None or _identity.pid != os.getpid():
        pid = os.getpid()
        start = _proc_start(pid) or f"token:{secrets.token_hex(8)}"
        _identity = ProcessIdentity(socket.gethostname(), pid, start)
    return _identity


def process_alive(host: str, pid: int, start: str) -> bool | None:
    """Is that process still running? None when this process cannot tell (another host, no ``/proc``)."""
    me = this_process()
    if host != me.host:
        return None
    if (pid, start) == (me.pid, me.start):
        return True
    if start.startswith("token:"):  # no /proc where it ran: only "no such pid" is certain
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return None
        return None
    current = _proc_start(pid)
    return current == start  # gone (None) or reused by a later process (another start): lost


@dataclass(frozen=True)
class LostResult:
    """A result its process left unfinished: what a status page shows as lost, not running."""

    result_id: str
    backend: str
    task_path: str
    queue_name: str
    status: str  # what the row still says: READY or RUNNING
    host: str
    pid: int
    enqueued_at: Any
    started_at: Any


# -- the database store -------------------------------------------------------------------------


def _row_fields(result: TaskResult[Any], progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of what the row holds, taken now: the worker keeps mutating the result object."""
    me = this_process()
    task = result.task
    progress = progress or {}
    return {
        "run_after": task.run_after,
        "progress_current": progress.get("current"),
        "progress_total": progress.get("total"),
        "progress_message": progress.get("message", ""),
        "progress_at": progress.get("at"),
        "result_id": result.id,
        "backend": result.backend,
        "task_path": task.module_path,
        "queue_name": task.queue_name,
        "priority": task.priority,
        "takes_context": task.takes_context,
        "status": str(result.status),
        "args": result.args,
        "kwargs": result.kwargs,
        "return_value": result._return_value if result.status == TaskResultStatus.SUCCESSFUL else None,
        "errors": [{"exception_class_path": e.exception_class_path, "traceback": e.traceback} for e in result.errors],
        "worker_ids": list(result.worker_ids),
        "enqueued_at": result.enqueued_at,
        "started_at": result.started_at,
        "last_attempted_at": result.last_attempted_at,
        "finished_at": result.finished_at,
        "host": me.host,
        "pid": me.pid,
        "process_start": me.start,
    }


_UPDATED = [
    "status", "return_value", "errors", "worker_ids", "started_at", "last_attempted_at", "finished_at",
    "host", "pid", "process_start", "run_after", "progress_current", "progress_total", "progress_message",
    "progress_at",
]  # fmt: skip
LATE_WARNING_SECONDS = 1.0  # a deferred task that starts later than this past its run_after is logged


class _Writer:
    """This process's one writer thread: takes row copies off a queue, upserts them in batches.

    Started on first use, a daemon thread (a stuck database never holds the process open); the
    exit hook flushes for a bounded time. After ``os.fork()`` the child gets a new, empty writer
    (``_reset_in_child``): the parent's pending rows are the parent's to write.
    """

    BATCH = 500  # rows per upsert, at most
    EXIT_FLUSH_SECONDS = 5.0

    def __init__(self) -> None:
        self.pending: queue.SimpleQueue[tuple[DatabaseResultStore, dict[str, Any]] | threading.Event] = (
            queue.SimpleQueue()
        )
        # Guards _thread (starting it once). Never held while writing.
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed_writes = 0

    def put(self, store: DatabaseResultStore, fields: dict[str, Any]) -> None:
        self.pending.put((store, fields))
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="dualqueue-results-writer", daemon=True)
                    self._thread.start()

    def flush(self, timeout: float | None) -> bool:
        """Wait until everything put before this call is written (or failed and counted)."""
        if self._thread is None:
            return True
        done = threading.Event()
        self.pending.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            items = [self.pending.get()]
            while len(items) < self.BATCH:
                try:
                    items.append(self.pending.get_nowait())
                except queue.Empty:
                    break
            rows: dict[tuple[int, str], tuple[DatabaseResultStore, dict[str, Any]]] = {}
            puts: dict[tuple[int, str], int] = {}  # how many puts each written row stands for
            flushes = []
            for item in items:
                if isinstance(item, threading.Event):
                    flushes.append(item)
                else:
                    store, fields = item
                    key = (id(store), fields["result_id"])
                    rows[key] = (store, fields)  # the latest state wins
                    puts[key] = puts.get(key, 0) + 1
            try:
                if rows:
                    self._write(list(rows.values()))
            except BaseException:  # a database error must not kill the writer: count it, log it, go on
                self.failed_writes += len(rows)
                logger.exception("dualqueue: could not write %d task result(s) to the database", len(rows))
            finally:
                close_old_connections()
                for key, (store, fields) in rows.items():
                    store._written(fields["result_id"], puts[key])
                for event in flushes:
                    event.set()

    def _write(self, rows: list[tuple[DatabaseResultStore, dict[str, Any]]]) -> None:
        from .models import TaskResultRecord

        TaskResultRecord.objects.bulk_create(
            [TaskResultRecord(**fields) for _, fields in rows],
            update_conflicts=True,
            unique_fields=["result_id"],
            update_fields=_UPDATED,
        )
        self.written += len(rows)
        for store in {id(store): store for store, _ in rows}.values():
            store._trim()


_writer = _Writer()


def _flush_at_exit() -> None:
    _writer.flush(_Writer.EXIT_FLUSH_SECONDS)


atexit.register(_flush_at_exit)


def _reset_in_child() -> None:
    global _writer, _identity
    _writer = _Writer()
    _identity = None


os.register_at_fork(after_in_child=_reset_in_child)


class DatabaseResultStore:
    """Results of one backend alias in the ``dualqueue_taskresultrecord`` table: any process reads them.

    ``add`` and ``save`` never touch the database: they queue a copy of the result's fields for
    this process's writer thread. ``get`` answers from this process's unwritten results first,
    then from the table, and reports a row whose process died as ``FAILED`` (``TaskLost``).
    """

    kind = "database"
    shared = True

    def __init__(self, limit: int | None, alias: str = "default") -> None:
        self.alias = alias
        self.limit = limit
        # Guards _unwritten and _evicted: results of this process whose latest state is not in the table yet.
        self._lock = threading.Lock()
        self._unwritten: dict[str, tuple[TaskResult[Any], int]] = {}  # id -> (result, writes pending)
        self._evicted = 0
        # Guarded by _lock too: the progress of this process's running tasks, written with their rows.
        self._progress: dict[str, dict[str, Any]] = {}

    def add(self, result: TaskResult[Any]) -> None:
        if result.task.run_after is None:
            self.save(result)
            return
        # A deferred task: its row is written now, in this thread, so that it outlives this process.
        from .models import TaskResultRecord

        TaskResultRecord.objects.update_or_create(
            result_id=result.id, defaults={k: v for k, v in _row_fields(result).items() if k != "result_id"}
        )

    def save(self, result: TaskResult[Any]) -> None:
        with self._lock:
            progress = self._progress.get(result.id)
            if result.is_finished:
                self._progress.pop(result.id, None)
            _, pending = self._unwritten.get(result.id, (result, 0))
            self._unwritten[result.id] = (result, pending + 1)
        _writer.put(self, _row_fields(result, progress))

    def claim(self, result: TaskResult[Any]) -> bool:
        """Take a deferred task's row for this process (``READY`` -> ``RUNNING``); False if another took it.

        One conditional ``UPDATE``: of all the processes that scheduled the row, exactly one sees it
        change. The winner's row names this process at once, so the row is never ``READY`` for a
        process that died after claiming it (it reads as lost, not as waiting).
        """
        from .models import TaskResultRecord

        me = this_process()
        now = timezone.now()
        won = TaskResultRecord.objects.filter(
            result_id=result.id, backend=self.alias, status=str(TaskResultStatus.READY)
        ).update(status=str(TaskResultStatus.RUNNING), started_at=now, last_attempted_at=now, host=me.host,
                 pid=me.pid, process_start=me.start)  # fmt: skip
        if not won:
            logger.info("dualqueue: deferred task %s (%s) already claimed by another process", result.task.module_path,
                        result.id)  # fmt: skip
            return False
        run_after = result.task.run_after
        late = (now - run_after).total_seconds() if run_after is not None else 0.0
        if late > LATE_WARNING_SECONDS:
            logger.warning(
                "dualqueue: deferred task %s (%s) starts %.1f s after its run_after (%s): no process was running "
                "at its time, or all were busy", result.task.module_path, result.id, late, run_after.isoformat(),
            )  # fmt: skip
        return True

    def set_progress(self, result: TaskResult[Any], current: float, total: float | None, message: str) -> None:
        with self._lock:
            self._progress[result.id] = _progress_record(current, total, message)

    def progress(self, result_id: str) -> dict[str, Any] | None:
        """The last progress written for ``result_id`` (any process), or this process's newer one; None if none."""
        with self._lock:
            mine = self._progress.get(result_id)
        if mine is not None:
            return mine
        from .models import TaskResultRecord

        row = (
            TaskResultRecord.objects.filter(result_id=result_id, backend=self.alias)
            .values("progress_current", "progress_total", "progress_message", "progress_at")
            .first()
        )
        if row is None or row["progress_current"] is None:
            return None
        record = _progress_record(row["progress_current"], row["progress_total"], row["progress_message"])
        record["at"] = row["progress_at"]
        return record

    def deferred(self) -> list[TaskResult[Any]]:
        """Every deferred task of this alias still waiting (``READY`` with a ``run_after``), soonest first."""
        from .models import TaskResultRecord

        rows = TaskResultRecord.objects.filter(
            backend=self.alias, status=str(TaskResultStatus.READY), run_after__isnull=False
        ).order_by("run_after", "id")
        results = []
        for row in rows:
            try:
                results.append(self._to_result(row))
            except Exception:  # a task that no longer imports: say so, never crash a process's start
                logger.exception("dualqueue: cannot schedule deferred task %s (%s) again", row.task_path,
                                 row.result_id)  # fmt: skip
        return results

    def _written(self, result_id: str, puts: int) -> None:
        """``puts`` of this result's saves are in the table now (or failed and were counted)."""
        with self._lock:
            entry = self._unwritten.get(result_id)
            if entry is not None:
                result, pending = entry
                if pending <= puts:
                    del self._unwritten[result_id]
                else:
                    self._unwritten[result_id] = (result, pending - puts)

    def _trim(self) -> None:
        """Keep the newest ``limit`` rows of this alias (runs on the writer thread, after a batch).

        Only finished rows are evicted. A ``READY`` or ``RUNNING`` row is work, not history:
        trimming it would lose a deferred task, hide a lost one from ``lost()``, and the
        task's next state, upserted, would bring it back as a new row, the newest, evicting
        a result that really was newer.
        """
        if self.limit is None:
            return
        from .models import TaskResultRecord

        rows = TaskResultRecord.objects.filter(backend=self.alias)
        cutoff = rows.order_by("-id").values_list("id", flat=True)[self.limit : self.limit + 1]
        if cutoff:
            unfinished = [str(TaskResultStatus.READY), str(TaskResultStatus.RUNNING)]
            deleted, _ = rows.filter(id__lte=cutoff[0]).exclude(status__in=unfinished).delete()
            with self._lock:
                self._evicted += deleted

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every result handed to the writer so far is in the table (tests, shutdown)."""
        return _writer.flush(timeout)

    def get(self, result_id: str) -> TaskResult[Any]:
        with self._lock:
            entry = self._unwritten.get(result_id)
        if entry is not None:
            return entry[0]
        from .models import TaskResultRecord

        if not isinstance(result_id, str):
            raise TaskResultDoesNotExist(result_id)
        try:
            row = TaskResultRecord.objects.get(result_id=result_id, backend=self.alias)
        except TaskResultRecord.DoesNotExist:
            raise TaskResultDoesNotExist(result_id) from None
        return self._to_result(row)

    def _to_result(self, row: Any) -> TaskResult[Any]:
        task: Task[Any, Any] = import_string(row.task_path)
        task = task.using(queue_name=row.queue_name, priority=row.priority, backend=self.alias, run_after=row.run_after)
        status = TaskResultStatus(row.status)
        errors = [
            TaskError(exception_class_path=e["exception_class_path"], traceback=e["traceback"]) for e in row.errors
        ]
        finished_at = row.finished_at
        if status in UNFINISHED and not _waiting(row) and process_alive(row.host, row.pid, row.process_start) is False:
            status = TaskResultStatus.FAILED
            errors.append(TaskError(exception_class_path=f"{__name__}.TaskLost", traceback=_lost_message(row)))
        result: TaskResult[Any] = TaskResult(
            task=task,
            id=row.result_id,
            status=status,
            enqueued_at=row.enqueued_at,
            started_at=row.started_at,
            finished_at=finished_at,
            last_attempted_at=row.last_attempted_at,
            args=row.args,
            kwargs=row.kwargs,
            backend=self.alias,
            errors=errors,
            worker_ids=list(row.worker_ids),
        )
        object.__setattr__(result, "_return_value", row.return_value)
        return result

    def lost(self) -> list[LostResult]:
        """Every ``READY``/``RUNNING`` row of this alias whose process is known to be gone."""
        from .models import TaskResultRecord

        unfinished = TaskResultRecord.objects.filter(backend=self.alias, status__in=[str(s) for s in UNFINISHED])
        return [
            LostResult(
                result_id=row.result_id,
                backend=row.backend,
                task_path=row.task_path,
                queue_name=row.queue_name,
                status=row.status,
                host=row.host,
                pid=row.pid,
                enqueued_at=row.enqueued_at,
                started_at=row.started_at,
            )
            for row in _order(unfinished)
            if not _waiting(row) and process_alive(row.host, row.pid, row.process_start) is False
        ]

    def snapshot(self) -> dict[str, Any]:
        """Counts for the status page; reads the table (a count and the unfinished rows), never the hot path."""
        from .models import TaskResultRecord

        with self._lock:
            unwritten, evicted = len(self._unwritten), self._evicted
        waiting = TaskResultRecord.objects.filter(
            backend=self.alias, status=str(TaskResultStatus.READY), run_after__isnull=False
        )
        first = waiting.order_by("run_after").values_list("run_after", flat=True).first()
        return {
            "deferred": waiting.count(),
            "next_run_after": first.isoformat() if first is not None else None,
            "kept": TaskResultRecord.objects.filter(backend=self.alias).count(),
            "lost": len(self.lost()),
            "limit": self.limit,
            "evicted": evicted,
            "unwritten": unwritten,
            "written": _writer.written,
            "failed_writes": _writer.failed_writes,
        }


def _waiting(row: Any) -> bool:
    """A deferred row no process has claimed: it waits for any process, so it is not lost with its own."""
    return row.run_after is not None and row.status == str(TaskResultStatus.READY)


def _order(rows: Any) -> Iterable[Any]:
    return rows.order_by("id")


def _lost_message(row: Any) -> str:
    return (
        f"TaskLost: the process that held this task (pid {row.pid} on {row.host}) exited while the task "
        f"was {row.status}; it never finished. In-process delivery is at most once: enqueue it again if it "
        f"must run."
    )
