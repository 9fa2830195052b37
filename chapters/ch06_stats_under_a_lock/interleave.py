"""Preempt a thread before each bytecode instruction of a function, one at a time, and
look.

A lost update needs one thread to be switched out between reading a counter and
writing it back. Waiting for the interpreter to do that is hopeless: on CPython
3.11 an unlocked ``n += 1`` lost no update in millions of tries from competing
threads, because the interpreter only switches threads at a few kinds of
instruction. So this module does the switching itself.

For every instruction of the code under test, a fresh scenario:

1. builds a fresh subject with ``setup()``;
2. runs ``first(subject)`` in a thread whose tracer stops it just before that
   instruction (the first time it is reached);
3. while it is stopped, runs ``second(subject)`` to the end in the calling
   thread, unless ``blocked(subject)`` says that ``second`` would have to wait
   for ``first`` (it holds the lock), in which case that preemption cannot
   happen and ``second`` runs after ``first`` instead;
4. lets ``first`` finish, and records where it was stopped and the subject.

Every instruction is visited exactly once per exploration, so the result never
depends on timing or luck: it covers every way one thread can be preempted once
by a complete run of another, which is the shape of every lost update and every
torn read. (It does not explore deeper interleavings; DPOR tools such as
``frontrun`` do, and the test suite runs one too.)
"""

from __future__ import annotations

import dis
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, Generic, TypeVar

__all__ = ["Preemption", "preemptions"]

S = TypeVar("S")

DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim


@dataclass(frozen=True)
class Preemption(Generic[S]):
    """``first`` was stopped just before ``instruction``; ``second`` ran then (unless
    ``waited``)."""

    instruction: dis.Instruction
    waited: bool  # True if second could not run there (first held what second needs)
    subject: S

    @property
    def where(self) -> str:
        ins = self.instruction
        line = ins.positions.lineno if ins.positions else None
        return f"line {line}, before {ins.opname} {ins.argrepr}".rstrip()


class _Breakpoint:
    """Stops the thread that runs ``code`` just before the instruction at ``offset``,
    the first time."""

    def __init__(self, code: CodeType, offset: int) -> None:
        self.code, self.offset = code, offset
        self.hit = False
        self.arrived = (
            threading.Event()
        )  # stopped at the breakpoint, or finished without reaching it
        self.go = threading.Event()

    def run(self, fn: Callable[[S], object], subject: S) -> None:
        sys.settrace(self._on_call)  # this thread only
        try:
            fn(subject)
        finally:
            sys.settrace(None)
            self.arrived.set()

    def _on_call(self, frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code is not self.code:
            return None  # only the code under test is stepped
        frame.f_trace_opcodes = True
        return self._on_instruction

    def _on_instruction(self, frame: FrameType, event: str, arg: object) -> Any:
        if event == "opcode" and frame.f_lasti == self.offset and not self.hit:
            self.hit = True
            self.arrived.set()
            self.go.wait(DEADLOCK)
        return self._on_instruction


def preemptions(
    setup: Callable[[], S],
    first: Callable[[S], object],
    second: Callable[[S], object],
    code: CodeType,
    blocked: Callable[[S], bool],
) -> list[Preemption[S]]:
    """Run ``first`` preempted by ``second`` before each instruction of ``code`` in
    turn; see the module doc."""
    explored = []
    for instruction in dis.get_instructions(code):
        subject = setup()
        stop = _Breakpoint(code, instruction.offset)
        thread = threading.Thread(target=stop.run, args=(first, subject))
        thread.start()
        if not stop.arrived.wait(DEADLOCK):
            raise TimeoutError(
                f"the first call neither stopped nor finished ({instruction.opname})"
            )
        waited = stop.hit and blocked(subject)
        if stop.hit and not waited:
            second(subject)  # runs entirely while first is stopped before `instruction`
        stop.go.set()
        thread.join(DEADLOCK)
        if thread.is_alive():
            raise TimeoutError(
                "the first call never finished after being stopped before "
                f"{instruction.opname}"
            )
        if waited:
            second(subject)  # it would have waited for the lock: it runs after first
        if stop.hit:  # an instruction never reached (an error handler) is no preemption
            explored.append(Preemption(instruction, waited, subject))
    return explored
