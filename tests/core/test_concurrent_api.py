"""Concurrent use of the API itself: chapter 11's multi-threaded state machine, on the reference core.

``tests/chapters/test_ch11_testing_concurrency.py`` proves the machine fails on broken variants.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from chapters.ch11_testing_concurrency.api_machine import api_machine


def test_concurrent_use_of_the_api_accounts_for_every_task_and_item() -> None:
    run_state_machine_as_test(
        api_machine(),
        settings=settings(
            max_examples=min(settings().max_examples, 25), stateful_step_count=15, deadline=None,
            derandomize=True,
        ),
    )
