"""Pause a thread at each line of a method, deterministically, and look at the state there.

A small, exhaustive interleaving explorer for one question: "could a snapshot
taken at this moment be inconsistent?" For every line of the method under
test, a fresh scenario runs the method in a thread with a line tracer that
stops it just before that line. While it is stopped, the main thread takes a
snapshot if, and only if, nothing stops it from doing so (the pool's mutex is
free); the snapshot must satisfy the invariant. Then the thread resumes.

No sleeping, no luck: each line is visited exactly once per run.
"""

from __future__ import annotations

import dis
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from dualqueue import WorkerPool

from .support import DEADLOCK


def lines_of(code: CodeType) -> list[int]:
    return sorted({line for _, _, line in code.co_lines() if line is not None and line > code.co_firstlineno})


# --8<-- [start:pause-at]
def pause_at(
    code: CodeType, line: int, paused: threading.Event, resume: threading.Event
) -> Callable[..., Any]:
    def local(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line" and frame.f_lineno == line:
            paused.set()
            resume.wait(DEADLOCK)
        return local

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        return local if frame.f_code is code else None

    return tracer
    # --8<-- [end:pause-at]


def _traced(tracer: Callable[..., Any], call: Callable[[WorkerPool], object], pool: WorkerPool,
            finished: threading.Event) -> None:
    sys.settrace(tracer)
    try:
        call(pool)
    finally:
        sys.settrace(None)
        finished.set()


def consistent(snapshot: dict[str, Any]) -> bool:
    s = snapshot
    return s["submitted"] == s["queued"] + s["running"] + s["succeeded"] + s["failed"] + s["dropped"]


# --8<-- [start:between-the-lines]
def held(lock: Any) -> bool:
    """Whether another thread holds ``lock`` (a Lock or an RLock, which has no
    ``locked()`` before 3.14)."""
    if not lock.acquire(blocking=False):
        return True
    lock.release()
    return False


def snapshots_between_the_lines(
    make_pool: Callable[[], WorkerPool],
    method: str,
    call: Callable[[WorkerPool], object],
) -> list[tuple[int, dict[str, Any]]]:
    """Run ``call(pool)`` once per line of ``pool.<method>``, snapshotting before that
    line.

    Returns the snapshots that could be taken (line, snapshot); lines where the
    mutex was held yield none, because no reader could have looked then.
    """
    code = getattr(type(make_pool()), method).__code__
    taken = []
    for line in lines_of(code):
        pool = make_pool()
        paused, resume, finished = (
            threading.Event(),
            threading.Event(),
            threading.Event(),
        )

        thread = threading.Thread(
            target=_traced,
            args=(pause_at(code, line, paused, resume), call, pool, finished),
        )
        thread.start()
        while not (paused.is_set() or finished.is_set()):
            paused.wait(0.01)
        if paused.is_set() and not held(pool._mutex):
            taken.append((line, pool.snapshot()))
        resume.set()
        thread.join(DEADLOCK)
        assert not thread.is_alive(), f"the paused call at line {line} never finished"
    return taken
    # --8<-- [end:between-the-lines]


def dis_line(code: CodeType, line: int) -> str:
    """The source-ish text of a line, for failure messages."""
    return " ".join(i.opname for i in dis.get_instructions(code) if i.positions and i.positions.lineno == line)
