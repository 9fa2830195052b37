"""Exercise 3 checks: a general task runs while every site worker is blocked, on a
thread of its own pool.

Decided without waiting out a timeout: either the email runs, or twelve site
tasks are running at once, which is only possible if the site tasks took
workers that were not the site pool's ten.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from exercises.explore import locks_held, preemptions
from exercises.support import DEADLOCK, Gate, explain, wait_for
from exercises.target import load

system = load("ex03_two_pools", "system")
TaskSystem = system.TaskSystem


@pytest.fixture
def tasks() -> Iterator[TaskSystem]:
    made = TaskSystem(general=2, site=10)
    yield made
    for name in made.names:  # no thread of this test outlives it
        made[name].shutdown(timeout=DEADLOCK)


# --8<-- [start:isolation]
def test_an_email_runs_while_every_site_worker_is_blocked(tasks: TaskSystem) -> None:
    gate = Gate()
    sent = threading.Event()
    try:
        for _ in range(12):  # ten analyses running, two more waiting for a site worker
            tasks.submit("site", gate.task)
        tasks.submit("general", sent.set)  # the password-reset email
        assert wait_for(lambda: sent.is_set() or gate.entered >= 12), (
            "neither happened in 10 s: a deadlock"
        )
        running = gate.entered
    finally:
        gate.open()
    assert sent.is_set(), explain(
        expected="the email to run while the site tasks are blocked",
        got=f"{running} site tasks are running at once and the email waits behind them",
        usually="every queue leads to one shared pool: the site tasks took every "
        "worker, including the two meant for emails. Give each name its own WorkerPool",
    )
    assert running <= 10, explain(
        expected="at most 10 site tasks running at once (the site pool has 10 workers)",
        got=f"{running} running",
        usually="site tasks are run by workers that are not the site pool's",
    )
# --8<-- [end:isolation]


def test_each_pool_runs_only_its_own_tasks_on_its_own_threads(
    tasks: TaskSystem,
) -> None:
    threads: dict[str, set[str]] = {"general": set(), "site": set()}
    lock = threading.Lock()

    def record(queue: str) -> None:
        with lock:
            threads[queue].add(threading.current_thread().name)

    for _ in range(20):
        tasks.submit("general", record, "general")
        tasks.submit("site", record, "site")
    assert tasks.join(timeout=DEADLOCK), f"the tasks did not finish in {DEADLOCK:g} s"
    for queue, names in threads.items():
        assert all(name.startswith(f"dualqueue-{queue}-") for name in names), explain(
            expected=f"{queue} tasks to run on the {queue} pool's threads (named "
            f"dualqueue-{queue}-N)",
            got=f"they ran on {sorted(names)}",
            usually="the queue name is not used to choose the pool",
        )


def test_each_name_has_a_pool_of_its_own_with_its_own_workers() -> None:
    made = TaskSystem(general=2, site=3, reports=2)
    pools = {name: made[name] for name in ("general", "site", "reports")}
    got = {name: (pool.name, pool.workers) for name, pool in pools.items()}
    expected = {
        "general": ("general", 2),
        "site": ("site", 3),
        "reports": ("reports", 2),
    }
    distinct = len({id(pool) for pool in pools.values()}) == 3
    assert got == expected, explain(
        expected=f"(pool name, workers) per queue: {expected}",
        got=repr(got),
        usually="each pool must be made with its queue's name (WorkerPool names its "
        "threads after it)"
        if distinct
        and all(workers == expected[name][1] for name, (_, workers) in got.items())
        else "one pool is shared by every name, or its size is the total of all of "
        "them",
    )
    assert len({id(pool) for pool in pools.values()}) == 3, explain(
        expected="three different pool objects",
        got="some names share a pool",
        usually="the same WorkerPool is returned for several names",
    )


def test_the_seed_system_is_general_2_and_site_10() -> None:
    made = TaskSystem()
    got = (made["general"].workers, made["site"].workers)
    assert got == (2, 10), explain(
        expected="TaskSystem() to mean general=2, site=10",
        got=f"general={got[0]}, site={got[1]}",
        usually="the default sizes are not used, or one pool serves both names",
    )


def test_an_unknown_queue_fails_at_the_caller_and_names_the_known_ones(
    tasks: TaskSystem,
) -> None:
    with pytest.raises(KeyError) as raised:
        tasks.submit("emails", print)
    assert "general" in str(raised.value) and "site" in str(raised.value), explain(
        expected="the KeyError to list the known pools, 'general' and 'site'",
        got=str(raised.value),
        usually="the error message does not help the caller fix the typo",
    )


def test_two_systems_share_no_pool() -> None:
    # Two TaskSystems in one process: tests make one each, and so does every gunicorn
    # worker's app.
    first, second = TaskSystem(general=1, site=2), TaskSystem(general=3, site=4)
    got = {
        name: (first[name].workers, second[name].workers, first[name] is second[name])
        for name in ("general", "site")
    }
    assert got == {"general": (1, 3, False), "site": (2, 4, False)}, explain(
        expected="each system to have pools of its own: general 1 and 3 workers, site "
        "2 and 4, no pool shared",
        got="; ".join(
            f"{name}: {a} and {b} workers{', the same pool' if same else ''}"
            for name, (a, b, same) in got.items()
        ),
        usually="the pools are kept in state shared between instances: a class "
        "attribute (or a module-level or default-argument dict) instead of a dict made "
        "in __init__ for each system"
        if any(same for _, _, same in got.values())
        else "each name does not get a pool of its own, of its own size",
    )


def test_two_requests_asking_for_a_pool_at_once_get_the_same_pool() -> None:
    # Two requests submit to "site" at the same moment. Whatever instruction one of them
    # is stopped before, the other must get the very same pool: a second pool would mean
    # twice the workers, and tasks that join() and the status page never see.
    explored = preemptions(lambda: (TaskSystem(general=2, site=10), []),
                           lambda s: s[1].append(s[0]["site"]),
                           lambda s: s[1].append(s[0]["site"]),
                           files=[system.__file__], blocked=lambda s: locks_held(s[0]))
    split = [
        p
        for p in explored
        if len({id(pool) for pool in p.subject[1]}) != 1
        or p.subject[0]["site"] is not p.subject[1][0]
    ]
    assert not split, explain(
        expected='tasks["site"] to be one and the same pool, however two calls at once '
        'interleave',
        got=f"two different pools, when the first call was stopped at {split[0].where} "
        "and the second ran",
        usually="the pools are made lazily on first use, with a check-then-act that no "
        "lock guards: both callers see no pool yet, and both make one. Make them all "
        "in __init__ (or guard the lazy creation with a lock)",
    )
