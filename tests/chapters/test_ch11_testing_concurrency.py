"""Chapter 11: every teaching property holds on the reference and fails on the broken
variant it guards against.

The properties are the chapter's functions (``chapters.ch11_testing_concurrency``),
built for a class under test. Each is run here twice, on the reference core and
on one of ``chapters.broken``; a property that catches nothing would be a
defect, so "it fails on the broken one" is asserted as firmly as "it holds".
Runs against broken variants skip shrinking (only the verdict matters here; the
demo shows the shrunk counterexamples) and never touch the example database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from chapters.broken import (
    CancelAtCloseSystem,
    EagerFollowUpDebouncer,
    FixedJoinPool,
    FixedWindowDebouncer,
    ForgetfulDebouncer,
    ForgetfulShutdownPool,
    NarrowCatchPool,
    TextUnderMutexPool,
    UnlockedStatsPool,
)
from chapters.ch11_testing_concurrency import Debouncer, FakeClock, WorkerPool, demo
from chapters.ch11_testing_concurrency.api_machine import api_machine
from chapters.ch11_testing_concurrency.bursts import (
    Run,
    burst_property,
    bursts,
    runs_on_fake_clock,
)
from chapters.ch11_testing_concurrency.falsify import falsify
from chapters.ch11_testing_concurrency.hostile import Subject, hostile_property
from chapters.ch11_testing_concurrency.machine import StepPool, debouncer_machine
from chapters.ch11_testing_concurrency.shutdown import shutdown_property
from chapters.ch11_testing_concurrency.snapshots import (
    consistent,
    paused_snapshots,
    source_line,
    stress_property,
)
from hypothesis import Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from hypothesis.stateful import run_state_machine_as_test

from tests.forking import FORK_WITH_THREADS

# against a broken variant: find a failure, do not shrink
FIND = {"phases": [Phase.generate], "database": None}


@pytest.fixture(autouse=True)
def _quiet_dualqueue_logs() -> Iterator[None]:
    # Broken variants drop tasks and failing tasks log tracebacks on purpose; keep the
    # output readable.
    logging.getLogger("dualqueue").disabled = True
    yield
    logging.getLogger("dualqueue").disabled = False


# -- step 1: an example, then the model, then the property
# --------------------------------


# --8<-- [start:example]
def test_three_uploads_a_second_apart_are_indexed_in_one_run_15_s_after_the_last() -> (
    None
):
    assert runs_on_fake_clock(Debouncer, gaps=[0, 1, 1], wait=15) == [
        Run(at=17.0, items=[0, 1, 2])
    ]
# --8<-- [end:example]


# --8<-- [start:model-cases]
@pytest.mark.parametrize(
    ("times", "wait", "max_wait", "expected"),
    [
        ([0, 1, 2], 15, None, [Run(17, [0, 1, 2])]),  # one burst
        # the window closed exactly as the trigger came
        ([0, 15], 15, None, [Run(15, [0]), Run(30, [1])]),
        # each gap shorter than the window: still one burst
        ([0, 14, 28], 15, None, [Run(43, [0, 1, 2])]),
        # max_wait cuts a never-quiet stream
        ([0, 14, 28], 15, 20, [Run(20, [0, 1]), Run(43, [2])]),
        ([5, 5, 5], 1, None, [Run(6, [0, 1, 2])]),  # triggers at the same instant
    ],
)
def test_the_model_agrees_with_cases_worked_by_hand(
    times: list[float], wait: int, max_wait: int | None, expected: list[Run]
) -> None:
    assert bursts(times, wait, max_wait) == expected
# --8<-- [end:model-cases]


@pytest.mark.parametrize("with_max_wait", [False, True], ids=["wait", "max_wait"])
def test_the_reference_debouncer_runs_exactly_the_bursts(with_max_wait: bool) -> None:
    assert falsify(burst_property(Debouncer, with_max_wait=with_max_wait)) is None


# --8<-- [start:catches-fixed-window]
def test_the_burst_property_catches_a_window_that_never_restarts() -> None:
    found = falsify(burst_property(FixedWindowDebouncer, **FIND))
    assert found is not None, (
        "the burst property passed on a debouncer that never restarts its window"
    )
    assert "the bursts are" in found.message and "runs_are_the_bursts" in found.example
# --8<-- [end:catches-fixed-window]


# -- stats
# --------------------------------------------------------------------------------


def test_every_snapshot_of_the_reference_under_load_is_consistent() -> None:
    assert falsify(stress_property(WorkerPool, max_examples=15)) is None


@pytest.mark.parametrize("method", ["_task_succeeded", "_task_failed"])
def test_a_reference_worker_paused_before_any_line_never_shows_a_torn_snapshot(
    method: str,
) -> None:
    taken = paused_snapshots(WorkerPool, method)
    assert taken, "no pause was explored: the exploration proved nothing"
    torn = [line for line, snap in taken if not consistent(snap)]
    assert not torn, f"torn snapshots before lines {torn} of {method}"


# --8<-- [start:catches-unlocked]
def test_pausing_the_worker_at_every_line_catches_the_unlocked_counter() -> None:
    torn = [
        (line, snap)
        for line, snap in paused_snapshots(UnlockedStatsPool)
        if not consistent(snap)
    ]
    assert torn, "no torn snapshot found in a pool that counts without its lock"
    line, snap = torn[0]
    assert (
        source_line(UnlockedStatsPool, "_task_succeeded", line)
        == "self._stats.succeeded += 1"
    )
    assert (snap["submitted"], snap["running"], snap["succeeded"]) == (1, 0, 0), (
        "the task vanished for a moment"
    )
# --8<-- [end:catches-unlocked]


# -- shutdown
# -----------------------------------------------------------------------------


def test_a_reference_shutdown_accounts_for_every_task_by_number_and_by_name() -> None:
    assert falsify(shutdown_property(WorkerPool, max_examples=30)) is None


def test_the_shutdown_property_catches_a_shutdown_that_forgets_the_queue() -> None:
    found = falsify(shutdown_property(ForgetfulShutdownPool, max_examples=100, **FIND))
    assert found is not None, (
        "the shutdown property passed on a pool that silently empties its queue"
    )
    assert (
        "accounts for" in found.message or "neither ran nor reported" in found.message
    ), found


# -- the state machine
# --------------------------------------------------------------------


# --8<-- [start:machine-tests]
def test_the_reference_debouncer_keeps_every_invariant_in_any_sequence() -> None:
    run_state_machine_as_test(
        debouncer_machine(Debouncer), settings=settings(max_examples=60, database=None)
    )


def test_the_state_machine_catches_a_debouncer_that_ignores_triggers_during_a_run() -> (
    None
):
    machine = debouncer_machine(ForgetfulDebouncer)
    found = falsify(
        lambda: run_state_machine_as_test(
            machine, settings=settings(max_examples=200, **FIND)
        )
    )
    assert found is not None, (
        "the state machine passed a debouncer that drops triggers during a run"
    )
    assert any(
        claim in found.message for claim in ("pending=", "a run got", "delivered")
    ), found


def test_the_state_machine_catches_a_follow_up_that_ignores_later_triggers() -> None:
    machine = debouncer_machine(EagerFollowUpDebouncer)
    found = falsify(
        lambda: run_state_machine_as_test(
            machine, settings=settings(max_examples=300, **FIND)
        )
    )
    assert found is not None, (
        "the state machine passed a debouncer whose follow-up skips its quiet window"
    )
    assert "after its last trigger" in found.message, found
# --8<-- [end:machine-tests]


def test_a_step_pool_runs_nothing_until_told_and_then_in_order() -> None:
    clock = FakeClock()
    pool = StepPool("steps", clock=clock)
    ran: list[int] = []
    pool.submit(ran.append, 1)
    clock.advance(5)
    pool.submit(ran.append, 2)
    assert ran == [] and pool.handed_over == [(0.0, (1,)), (5.0, (2,))]
    pool.run_next()
    pool.run_next()
    assert ran == [1, 2] and not pool.waiting


# -- falsify
# ------------------------------------------------------------------------------


def test_falsify_returns_none_if_the_property_holds_else_the_counterexample() -> None:
    def holds() -> None:
        assert 1 + 1 == 2

    def fails() -> None:
        error = AssertionError("two is not three")
        error.add_note("Falsifying example: fails(n=2)")
        raise error

    assert falsify(holds) is None
    found = falsify(fails)
    assert found is not None
    assert (found.message, found.example) == (
        "two is not three",
        "Falsifying example: fails(n=2)",
    )


def test_falsify_lets_a_crashing_property_crash() -> None:
    def crashes() -> None:
        raise TypeError("a bug in the test, not a caught bug")

    with pytest.raises(TypeError):
        falsify(crashes)


# -- the demo
# -----------------------------------------------------------------------------


def test_the_demo_shows_each_property_hold_on_the_reference_fail_on_its_bug() -> None:
    lines: list[str] = []
    results = demo.main(
        print=lambda *a: lines.append(" ".join(map(str, a))), examples=20, shrink=False
    )
    for holds in ("bursts/Debouncer", "shutdown/WorkerPool", "machine/Debouncer"):
        assert results[holds] is None, f"{holds}: {results[holds]}"
    for fails in (
        "bursts/FixedWindowDebouncer",
        "shutdown/ForgetfulShutdownPool",
        "machine/ForgetfulDebouncer",
    ):
        assert results[fails] is not None, f"{fails} was not caught"
    assert (
        results["stress/WorkerPool"]["torn"] == 0
        and results["stress/WorkerPool"]["snapshots"] > 0
    )
    assert results["paused/WorkerPool"]["torn"] == 0
    assert results["paused/UnlockedStatsPool"]["torn"] == 1
    assert sum("FAILS" in line for line in lines) == 3


# -- hostile tasks: the property fails on each core that trusts user code
# ---------------------

HOSTILE_FIND = {**FIND, "derandomize": True}
# the hostile workloads fork on purpose (tests/forking.py)
FORK_WARNING = FORK_WITH_THREADS


# --8<-- [start:catches-hostile]
THE_WORKERS_DIE = "ignore::pytest.PytestUnhandledThreadExceptionWarning"  # in the bugs


@pytest.mark.filterwarnings(FORK_WARNING)
@pytest.mark.filterwarnings(THE_WORKERS_DIE)
@pytest.mark.parametrize(
    ("subject", "claims"),
    [
        pytest.param(
            Subject(pool=NarrowCatchPool),
            ("never settled", "workers"),
            id="NarrowCatch",
        ),
        pytest.param(
            Subject(pool=TextUnderMutexPool),
            ("deadlock", "never settled", "workers"),
            id="TextUnderMutex",
        ),
        pytest.param(Subject(pool=FixedJoinPool), ("shutdown",), id="FixedJoin"),
        pytest.param(
            Subject(system=CancelAtCloseSystem),
            ("no report names",),
            id="CancelAtClose",
        ),
    ],
)
def test_the_hostile_task_property_catches_a_core_that_trusts_user_code(
    subject: Subject, claims: tuple[str, ...]
) -> None:
    found = falsify(hostile_property(subject, max_examples=150, **HOSTILE_FIND))
    assert found is not None, f"the hostile-task property passed on {subject}"
    assert any(claim in found.message for claim in claims), found
# --8<-- [end:catches-hostile]


# -- concurrent use of the API: the multi-threaded machine fails on each broken variant


# --8<-- [start:catches-api]
@pytest.mark.parametrize(
    ("subject", "claim"),
    [
        pytest.param(
            Subject(pool=ForgetfulShutdownPool),
            "breaks submitted ==",
            id="ForgetfulShutdown",
        ),
        pytest.param(
            Subject(system=CancelAtCloseSystem), "no report names", id="CancelAtClose"
        ),
    ],
)
def test_the_concurrent_api_machine_catches_a_shutdown_that_loses_work(
    subject: Subject, claim: str
) -> None:
    machine = api_machine(subject)
    steps = settings(max_examples=100, stateful_step_count=15, **FIND)
    found = None
    for _ in range(3):  # three independent searches of 100 stories each
        try:
            found = falsify(lambda: run_state_machine_as_test(machine, settings=steps))
        except FlakyStrategyDefinition:  # its threads replayed a story differently
            continue
        if found is not None:
            break
    assert found is not None, f"the concurrent API machine passed on {subject}"
    assert claim in found.message, found
# --8<-- [end:catches-api]
