"""What a retry policy promises that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/retry.py`` changeable with
every test still passing: the errors that name a bad policy argument, the
wrapper's call and repr, a dead letter's dict, and the task names reports use.
"""

from __future__ import annotations

import pytest
from dualqueue import Retry
from dualqueue.retry import NAME_LIMIT, DeadLetter, Retrying, task_name


def test_a_bad_policy_argument_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"attempts must be an int >= 1, got 1.5"):
        Retry(attempts=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"factor must be a finite number >= 1, got 0.5"):
        Retry(factor=0.5)
    with pytest.raises(TypeError, match="rng must be callable, got int"):
        Retry(rng=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"retry_on must be a tuple of exception classes, got \(3,\)"):
        Retry(retry_on=(3,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Retry needs a callable, got int"):
        Retrying(3, Retry())  # type: ignore[arg-type]


def analyse(site: int, *, deep: bool = False) -> tuple[int, bool]:
    return site, deep


def test_calling_a_wrapped_function_passes_every_argument_once() -> None:
    wrapped = Retry(attempts=2)(analyse)
    assert wrapped(7, deep=True) == (7, True)
    assert repr(wrapped).startswith(f"<Retrying {__name__}.analyse Retry(attempts=2")


def test_a_dead_letter_as_a_dict_shows_when_it_failed() -> None:
    letter = DeadLetter("jobs.send", 3, "TimeoutError", "slow", failed_at=1_700_000_000.0)
    assert letter.as_dict() == {
        "task": "jobs.send",
        "attempts": 3,
        "error_type": "TimeoutError",
        "message": "slow",
        "failed_at": "2023-11-14T22:13:20.000+00:00",
    }


def test_a_name_of_exactly_the_limit_is_kept_whole() -> None:
    def job() -> None: ...

    job.task_name = "n" * NAME_LIMIT  # type: ignore[attr-defined]
    assert task_name(job) == "n" * NAME_LIMIT
    job.task_name = "n" * (NAME_LIMIT + 1)  # type: ignore[attr-defined]
    assert task_name(job) == "n" * (NAME_LIMIT - 1) + "…"


def test_a_module_that_is_not_text_is_left_out_of_the_name() -> None:
    def job() -> None: ...

    job.__module__ = 5  # type: ignore[assignment]
    assert task_name(job) == job.__qualname__
