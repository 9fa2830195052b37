"""Exercise 12 checks: the learner's property tests pass on the real debouncer and fail
on each broken one.

The learner's ``properties.py`` holds hypothesis tests (``test_*`` functions
decorated with ``@given``) whose first parameter is ``make_debouncer``. These
checks call each of them with ``dualqueue.Debouncer`` and with each debouncer
of ``broken.py``. A test "catches" a broken debouncer when it fails on it;
hypothesis's own errors (an unsatisfiable strategy, a failed health check)
mean the test is broken, not the debouncer, and do not count.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
from dualqueue import Debouncer
from hypothesis import is_hypothesis_test
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import HypothesisException

from exercises.ex12_debouncer_property.broken import BROKEN
from exercises.support import explain
from exercises.target import load

properties = load("ex12_debouncer_property", "properties")
LEARNER_TESTS: dict[str, Callable[..., Any]] = {
    name: fn
    for name, fn in vars(properties).items()
    if name.startswith("test_") and callable(fn)
}


def outcome(
    test: Callable[..., Any], debouncer_class: type[Debouncer]
) -> BaseException | None:
    """None if ``test`` passes with ``debouncer_class``, else what it raised."""
    try:
        test(make_debouncer=debouncer_class)
    # an AssertionError, an ExceptionGroup of several, or any error the bug caused
    except Exception as exc:
        return exc
    return None


def first_line(exc: BaseException) -> str:
    """The exception's first line, and the example hypothesis found (from its notes), if
    any."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}".strip()
    example = " ".join(" ".join(getattr(exc, "__notes__", [])).split())
    return f"{line} ({example})" if example else line


def test_your_tests_are_hypothesis_tests_that_take_make_debouncer() -> None:
    assert LEARNER_TESTS, explain(
        expected="at least one function named test_... in properties.py",
        got="none",
        usually="the tests are named differently, or the file is empty",
    )
    for name, fn in LEARNER_TESTS.items():
        assert is_hypothesis_test(fn), explain(
            expected=f"{name} to be a hypothesis test (decorated with @given)",
            got="a plain function",
            usually="the @given decorator is missing: a few examples you chose are not "
            "a property",
        )
        assert "make_debouncer" in inspect.signature(fn).parameters, explain(
            expected=f"{name} to take make_debouncer as a parameter",
            got=f"parameters {list(inspect.signature(fn).parameters)}",
            usually="the test builds dualqueue.Debouncer itself, so the checks cannot "
            "hand it a broken one",
        )


# examples per test: the exercises' profile gives 60 unless a test asks for fewer
ENOUGH = 50


def test_your_tests_explore_enough_examples() -> None:
    few = {}
    for name, fn in LEARNER_TESTS.items():
        chosen = (
            getattr(fn, "_hypothesis_internal_use_settings", None)
            or hypothesis_settings.default
        )
        if chosen.max_examples < ENOUGH:
            few[name] = chosen.max_examples
    assert not few, explain(
        expected=f"each test to try at least {ENOUGH} examples (the exercises' profile "
        "gives 60)",
        got="; ".join(f"{name} tries {n}" for name, n in few.items()),
        usually="@settings(max_examples=...) set low to make the tests fast: that is "
        "too few examples to meet a bug that needs a long burst or a particular gap. "
        "Let hypothesis explore",
    )


# --8<-- [start:checks]
def test_your_tests_pass_on_the_real_debouncer() -> None:
    failing = {name: outcome(fn, Debouncer) for name, fn in LEARNER_TESTS.items()}
    failing = {name: exc for name, exc in failing.items() if exc is not None}
    assert not failing, explain(
        expected="every one of your tests to pass on dualqueue.Debouncer, which is "
        "correct",
        got="; ".join(
            f"{name} failed with {first_line(exc)}" for name, exc in failing.items()
        ),
        usually="the property claims something a debouncer does not promise (check "
        "gaps equal to wait, and when the last burst runs), or the test itself has a "
        "bug",
    )


@pytest.mark.budget(10)  # hypothesis, five times over: about 0.25 s on the solution
@pytest.mark.parametrize("broken", list(BROKEN))
def test_your_tests_catch_the_broken_debouncer(broken: str) -> None:
    debouncer_class, bug = BROKEN[broken]
    results = {name: outcome(fn, debouncer_class) for name, fn in LEARNER_TESTS.items()}
    caught = [
        name
        for name, exc in results.items()
        if exc is not None and not isinstance(exc, HypothesisException)
    ]
    confused = [
        first_line(exc)
        for exc in results.values()
        if isinstance(exc, HypothesisException)
    ]
    assert caught, explain(
        expected=f"at least one of your tests to fail on {debouncer_class.__name__}, "
        f"which {bug}",
        got="every test passed"
        + (f" or stopped with a hypothesis error ({confused[0]})" if confused else ""),
        usually="no property looks at what this bug breaks: compare the runs with what "
        "a trailing-edge debouncer must do (one run per burst, at last trigger + wait, "
        "every item once, in order); or the strategies never generate the streams that "
        "show it (long bursts, gaps equal to wait, longer waits)",
    )
# --8<-- [end:checks]
