"""Run a property expecting that it may fail, and keep what it found.

A property that has never failed has not been shown to test anything. The
chapter runs each property twice: against the reference core, where it must
hold, and against a deliberately broken variant from ``chapters.broken``, where
it must fail. ``falsify(test)`` is the second half: it runs a hypothesis test
(an ``@given`` function or a state machine run) and returns the counterexample
hypothesis reports, or ``None`` if the property held on every example tried.

Only ``AssertionError`` counts as "the property failed". Anything else (a
``TypeError`` in the test itself, a deadlock detector firing as ``TimeoutError``)
propagates: a property that crashes has not caught a bug, it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis.errors import FlakyStrategyDefinition

__all__ = ["Counterexample", "falsify"]


# --8<-- [start:falsify]
@dataclass(frozen=True)
class Counterexample:
    """What a failing property reported: the assertion's message and the example that
    broke it."""

    message: str
    # hypothesis's "Falsifying example" / the steps of a state machine, as it printed
    # them
    example: str

    def __str__(self) -> str:
        return f"{self.example}\n{self.message}"


def falsify(test: Callable[[], None]) -> Counterexample | None:
    """Run ``test`` (a hypothesis test, called with no arguments); return its
    counterexample or None."""
    try:
        test()
    except AssertionError as failure:
        return _counterexample(failure)
    except FlakyStrategyDefinition as flaky:
        # A machine whose rules run on threads may fail at another step when hypothesis
        # replays it: the failure it found first is the one it was replaying.
        if not isinstance(flaky.__context__, AssertionError):
            raise
        return _counterexample(flaky.__context__)
    # hypothesis found several distinct bugs: report the first assertion
    except ExceptionGroup as failures:
        first = next(
            (e for e in failures.exceptions if isinstance(e, AssertionError)), None
        )
        if first is None:
            raise
        return _counterexample(first)
    return None


def _counterexample(failure: AssertionError) -> Counterexample:
    # Hypothesis attaches the (shrunk) example to the exception as PEP 678 notes.
    notes = getattr(failure, "__notes__", [])
    return Counterexample(str(failure).strip(), "\n".join(notes))
# --8<-- [end:falsify]
