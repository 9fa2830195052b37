"""Chapter 11 demo: each property against the reference, then against the bug it exists
to catch.

    python -m chapters.ch11_testing_concurrency.demo

Every verdict printed is the outcome of running the property on this run; the
counterexamples are the ones hypothesis found and shrank just now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dualqueue import Debouncer, WorkerPool
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from chapters.broken import (
    FixedWindowDebouncer,
    ForgetfulDebouncer,
    ForgetfulShutdownPool,
    UnlockedStatsPool,
)

from . import bursts, shutdown, snapshots
from .falsify import Counterexample, falsify
from .machine import debouncer_machine


def verdict(found: Counterexample | None) -> str:
    if found is None:
        return "holds on every example tried"
    # "Failing test case: name(\n    gaps=[0, 1],\n    wait=2,\n)" -> "gaps=[0, 1],
    # wait=2" (older hypothesis: "Falsifying example: ..."). Hypothesis may add notes
    # before the call or after its closing parenthesis (an explanation, a flaky
    # warning): only the lines between the call's parentheses are its arguments.
    lines = found.example.splitlines()
    start = next((n for n, line in enumerate(lines) if line.endswith("(")), len(lines))
    arguments = []
    for line in lines[start + 1 :]:
        if line.strip() == ")":
            break
        if line.strip():
            arguments.append(line.strip().rstrip(","))
    example = ", ".join(arguments)
    return f"FAILS: {found.message}\n      shrunk to: {example}"


def machine_verdict(found: Counterexample | None) -> str:
    if found is None:
        return "holds on every sequence tried"
    steps = [
        line.split(".", 1)[1]
        for line in found.example.splitlines()
        if line.startswith("state.")
    ]
    # keep the rules: they are the story
    invariants = ("a_", "at_", "each_", "pending_", "teardown")
    story = ", ".join(step for step in steps if not step.startswith(invariants))
    return f"FAILS: {found.message}\n      shrunk to: {story}"


def main(
    print: Callable[..., None] = print, examples: int = 100, shrink: bool = True
) -> dict[str, Any]:
    """Run every property on the reference and on its broken variant; ``shrink=False``
    skips shrinking (faster)."""
    # The broken variants log what they drop and the failing tasks log tracebacks: not
    # the point here.
    logging.getLogger("dualqueue").disabled = True
    try:
        return _main(print, examples, shrink)
    finally:
        logging.getLogger("dualqueue").disabled = False


def _main(print: Callable[..., None], examples: int, shrink: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    # derandomize: the same examples, and so the same shrunk counterexamples, on every
    # run (the page shows this run's output, and a test compares it with the next run's)
    options: dict[str, Any] = {
        "max_examples": examples,
        "database": None,
        "derandomize": True,
    }
    if not shrink:
        options["phases"] = [Phase.generate]

    print(
        "debounce: the runs are exactly the bursts (hypothesis chooses gaps and "
        "window; FakeClock)"
    )
    for make in (Debouncer, FixedWindowDebouncer):
        results[f"bursts/{make.__name__}"] = found = falsify(
            bursts.burst_property(make, **options)
        )
        print(f"  {make.__name__:22} {verdict(found)}")

    print(
        "stats under load: 4 threads submit 500 tasks each while a reader snapshots "
        "(real threads)"
    )
    workload = [[n % 7 != 0 for n in range(500)] for _ in range(4)]
    for make in (WorkerPool, UnlockedStatsPool):
        taken = snapshots.snapshots_under_load(make, workload, workers=4)
        torn = sum(not snapshots.consistent(snap) for snap in taken)
        results[f"stress/{make.__name__}"] = {"snapshots": len(taken), "torn": torn}
        print(f"  {make.__name__:22} {len(taken)} snapshots, {torn} torn")

    print(
        "stats, a real worker paused before each line of _task_succeeded, a snapshot "
        "taken there"
    )
    for make in (WorkerPool, UnlockedStatsPool):
        taken = snapshots.paused_snapshots(make)
        torn = [(line, snap) for line, snap in taken if not snapshots.consistent(snap)]
        results[f"paused/{make.__name__}"] = {
            "pauses_a_reader_could_see": len(taken),
            "torn": len(torn),
        }
        line = ""
        if torn:
            at, snap = torn[0]
            line = (
                "\n      torn before "
                f"`{snapshots.source_line(make, '_task_succeeded', at)}`: "
                f"submitted={snap['submitted']} running={snap['running']} "
                f"succeeded={snap['succeeded']}"
            )
        print(
            f"  {make.__name__:22} {len(taken)} pause(s) a reader could see, "
            f"{len(torn)} torn{line}"
        )

    print(
        "shutdown: every task accounted for, by number and by name (hypothesis chooses "
        "the workload)"
    )
    for make in (WorkerPool, ForgetfulShutdownPool):
        results[f"shutdown/{make.__name__}"] = found = falsify(
            shutdown.shutdown_property(make, **options)
        )
        print(f"  {make.__name__:22} {verdict(found)}")

    print(
        "debouncer state machine: trigger, wait, finish_run, flush, cancel in any "
        "order; invariants every step"
    )
    for make in (Debouncer, ForgetfulDebouncer):
        machine = debouncer_machine(make)
        found = falsify(
            lambda machine=machine: run_state_machine_as_test(
                machine, settings=settings(**options)
            )
        )
        results[f"machine/{make.__name__}"] = found
        print(f"  {make.__name__:22} {machine_verdict(found)}")
    return results


if __name__ == "__main__":
    from chapters.page import page_print  # lines that fit the page

    main(print=page_print)
