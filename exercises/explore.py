"""Preempt a thread before each instruction it runs in the code under test, one at a time, and look.

The exercises' version of chapter 6's explorer. A lost update needs one thread
to be switched out between reading a counter and writing it back; on CPython
3.11 the interpreter almost never does that to ``n += 1`` on its own, so a
stress test proves nothing. This module does the switching itself.

For step 0, 1, 2, ... a fresh scenario:

1. builds a fresh subject with ``setup()``;
2. runs ``first(subject)`` in a thread whose tracer stops it just before the
   step-th bytecode instruction it executes in the code under test (any
   function defined in ``files``: the learner may split the code as they like);
3. while it is stopped, runs ``second(subject)`` to the end in the calling
   thread, unless a lock of the subject is held (``second`` would have to wait
   for it, so that preemption cannot happen; ``second`` then runs afterwards);
4. lets ``first`` finish and records where it was stopped, the subject, and
   whatever ``first`` raised (an interleaving can make code raise: a deque
   mutated during iteration, say), for the check to judge.

The exploration ends at the first step that ``first`` never reaches. Every
instruction is visited exactly once, so the verdict never depends on timing.
It covers every way one thread can be preempted once by a complete run of
another: the shape of every lost update and every torn read.
"""

from __future__ import annotations

import dis
import linecache
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, TypeVar

from .support import DEADLOCK, explain

__all__ = ["Preemption", "clearest", "locks_held", "preemptions"]

S = TypeVar("S")

MAX_STEPS = 5_000  # far more instructions than any exercise's code runs in one call


@dataclass(frozen=True)
class Preemption(Generic[S]):
    """``first`` was stopped before its ``step``-th traced instruction (``where``); ``second`` ran then."""

    step: int
    where: str
    waited: bool  # True if a lock was held there, so second could only run afterwards
    subject: S
    raised: BaseException | None = None  # what ``first`` raised in this interleaving, if anything


class _Breakpoint:
    """Stops the thread just before the ``step``-th instruction it executes in ``files``."""

    def __init__(self, files: frozenset[str], step: int) -> None:
        self.files, self.step = files, step
        self.executed = 0
        self.hit = False
        self.where = ""
        self.arrived = threading.Event()  # stopped at the breakpoint, or finished without reaching it
        self.go = threading.Event()
        self.raised: BaseException | None = None

    def run(self, fn: Callable[[S], object], subject: S) -> None:
        sys.settrace(self._on_call)  # this thread only
        try:
            fn(subject)
        except BaseException as exc:  # kept for the check to judge: an interleaving can make the code raise
            self.raised = exc
        finally:
            sys.settrace(None)
            self.arrived.set()

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename not in self.files:
            return None  # only the code under test is stepped
        frame.f_trace_opcodes = True
        # 3.12 delivers a frame's opcode events only after the tracer is installed again (its
        # sys.monitoring-based tracing instruments code when settrace is called); 3.13 only if
        # f_trace_opcodes is (also) set from the frame's own trace function, below.
        if sys.version_info[:2] == (3, 12):
            sys.settrace(self._on_call)
        return self._on_instruction

    def _on_instruction(self, frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode" and not self.hit:
            if self.executed == self.step:
                self.hit = True
                self.where = _describe(frame)
                self.arrived.set()
                self.go.wait(DEADLOCK)
            self.executed += 1
        return self._on_instruction


def _describe(frame: FrameType) -> str:
    """Where a stopped frame is: function, line, source and the instruction it is about to run.

    Some instructions have no line: the cleanup a ``with`` block runs when an
    exception leaves it (on 3.11, ``f_lineno`` is None there). They are
    described by the nearest line before them, marked as such.
    """
    code = frame.f_code
    instruction = next((i for i in dis.get_instructions(code) if i.offset == frame.f_lasti), None)
    before = f"{instruction.opname} {instruction.argrepr}".strip() if instruction else "?"
    line = frame.f_lineno
    if line is None:
        lines = [start for offset, _, start in code.co_lines() if start is not None and offset <= frame.f_lasti]
        if not lines:
            return f"{code.co_name}() (no line: cleanup code), before {before}"
        near = lines[-1]
        source = linecache.getline(code.co_filename, near).strip()
        return f"{code.co_name}() after line {near} `{source}` (cleanup while an exception is raised), before {before}"
    source = linecache.getline(code.co_filename, line).strip()
    return f"{code.co_name}() line {line} `{source}`, before {before}"


def clearest(found: list[Preemption[S]]) -> Preemption[S]:
    """The preemption to show a learner: one stopped before a read or a write, if there is one.

    Stopping before a ``POP_TOP`` at the end of a ``with`` block is as real, but
    "before LOAD_ATTR running" says more to a reader than "before POP_TOP".
    """
    for preemption in found:
        if "before LOAD_" in preemption.where or "before STORE_" in preemption.where:
            return preemption
    return found[0]


def locks_held(*owners: object) -> bool:
    """True if any lock-like attribute of ``owners`` (or of their classes' modules) is held by another thread."""
    for owner in owners:
        module = sys.modules.get(type(owner).__module__)
        candidates: Iterable[object] = [*vars(owner).values(), *(vars(module).values() if module else ())]
        for candidate in candidates:
            acquire = getattr(candidate, "acquire", None)
            release = getattr(candidate, "release", None)
            if isinstance(candidate, type) or not (callable(acquire) and callable(release)):
                continue
            try:
                free = acquire(blocking=False)
            except TypeError:
                continue
            if free:
                release()
            else:
                return True
    return False


def preemptions(
    setup: Callable[[], S],
    first: Callable[[S], object],
    second: Callable[[S], object],
    *,
    files: Iterable[str],
    blocked: Callable[[S], bool] = locks_held,
) -> list[Preemption[S]]:
    """Run ``first`` preempted by ``second`` before each instruction ``first`` runs in ``files``; see the module doc."""
    traced = frozenset(files)
    explored: list[Preemption[S]] = []
    for step in range(MAX_STEPS):
        subject = setup()
        stop = _Breakpoint(traced, step)
        thread = threading.Thread(target=stop.run, args=(first, subject), daemon=True)
        thread.start()
        if not stop.arrived.wait(DEADLOCK):
            raise AssertionError(explain(
                expected=f"the explored call to reach its instruction {step}, or to finish",
                got=f"it was still running {DEADLOCK:g} s later, outside the code under test",
                usually="the call waits for something that never comes (a task that never ends, a wake-up "
                "nobody sends), with no deadline",
            ))
        waited = stop.hit and blocked(subject)
        if stop.hit and not waited:
            second(subject)  # runs entirely while first is stopped
        stop.go.set()
        thread.join(DEADLOCK)
        if thread.is_alive():
            raise AssertionError(explain(
                expected=f"the explored call to finish once it was let go (it was stopped at {stop.where})",
                got=f"it was still running {DEADLOCK:g} s later",
                usually="the call waits for something that never comes (a task that never ends, a wake-up "
                "nobody sends), with no deadline: a timeout of 0 taken for 'no timeout', a loop that does "
                "not stop at its deadline",
            ))
        if not stop.hit:
            return explored  # first ran fewer instructions than this: every step is explored
        if waited:
            second(subject)  # it would have waited for the lock: it runs after first
        explored.append(Preemption(step, stop.where, waited, subject, stop.raised))
    raise RuntimeError(f"the first call ran more than {MAX_STEPS} traced instructions: is it looping?")
