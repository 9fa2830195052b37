"""Chapter 13's demo: later, every, how far along. Each first version, then the core's.

    python -m chapters.ch13_time.demo

Nothing here races in what it prints: threads meet on events, the periodic
processes meet on a barrier at every tick, the clocks are ``FakeClock`` s, and
where real processes compete it prints how many runs there were, never who won.
"""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
import threading
from pathlib import Path
from typing import Any

from chapters.page import page_print

from . import Every, FakeClock, FileClaims, TaskSystem, WorkerPool, report_progress

HOUR = 3600.0
START = 1_699_999_980.0  # a whole minute since the epoch: where Every(60) ticks
sent: list[str] = []


def send_reminder(user: str) -> None:
    sent.append(f"reminder to {user}")


def send_reset_email(done: threading.Event) -> None:
    sent.append("reset email")
    done.set()


# -- later ---------------------------------------------------------------------


# --8<-- [start:sleeping]
def reminder_that_sleeps(held: threading.Barrier, hour: threading.Event) -> None:
    held.wait()  # the demo knows when both workers are inside
    hour.wait(HOUR)  # stands in for time.sleep(3600): the worker is held all that time
    sent.append("late reminder")


def later_before() -> dict[str, Any]:
    print("Later, first versions: a thread per reminder, or a worker asleep")
    timers = [threading.Timer(HOUR, send_reminder, (f"user{n}",)) for n in range(200)]
    for timer in timers:
        timer.start()
    more = sum(timer.is_alive() for timer in timers)
    print(f"  200 threading.Timer reminders: {more} threads, each sleeping an hour")
    for timer in timers:
        timer.cancel()
    pool = WorkerPool("general", workers=2)
    held, hour, done = threading.Barrier(3), threading.Event(), threading.Event()
    for _ in range(2):
        pool.submit(reminder_that_sleeps, held, hour)
    held.wait()
    pool.submit(send_reset_email, done)
    ran = done.is_set()  # both workers are asleep: it cannot have run
    print(f"  2 reminders asleep in a worker: the reset email ran: {ran}")
    print(f"  (queued behind them: {pool.snapshot()['queued']}; it waits an hour)")
    hour.set()
    pool.shutdown(timeout=5)
    return {"timer_threads": more, "reset_ran_while_asleep": ran}
# --8<-- [end:sleeping]


# --8<-- [start:later]
def later_after() -> dict[str, Any]:
    print("Later, with submit_after: the reminders wait on the clock")
    clock = FakeClock()
    tasks = TaskSystem(general=2, clock=clock)
    threads = set(threading.enumerate())
    for n in range(200):
        tasks.submit_after("general", HOUR, send_reminder, f"user{n}")
    done = threading.Event()
    tasks.submit("general", send_reset_email, done)
    done.wait(10)
    general = tasks["general"].snapshot()
    more = len(set(threading.enumerate()) - threads)  # threads started since
    print(f"  200 deferred: {more} threads more "
          f"(the pool's own workers); scheduled={general['scheduled']}")
    print(f"  the reset email ran at once: {done.is_set()}")
    clock.advance(HOUR - 0.001)
    early = tasks["general"].snapshot()["scheduled"]
    print(f"  a millisecond early: scheduled={early}")
    clock.advance(0.001)
    tasks.join(timeout=10)
    reminders = sum(line.startswith("reminder") for line in sent)
    print(f"  on time: {reminders} reminders sent, each once")
    tasks.submit_after("general", 24 * HOUR, send_reminder, "user0")
    report = tasks.shutdown(timeout=5)
    page_print(f"  shut down with one not due: dropped={report.dropped}")
    return {
        "threads": more,
        "scheduled": general["scheduled"],
        "reset_ran": done.is_set(),
        "early": early,
        "reminders": reminders,
        "dropped": report.dropped,
    }
# --8<-- [end:later]


# -- every ---------------------------------------------------------------------


def record_run(runs: str, clock: FakeClock) -> None:
    with open(runs, "a") as f:  # one short line, appended whole
        f.write(f"{round((clock.wall() - START) / 60)}\n")


# --8<-- [start:every-process]
def worker_process(directory: str, shared: bool, barrier: Any, ticks: int) -> None:
    """One gunicorn worker process, in short: a TaskSystem, a digest every 60 s."""
    clock = FakeClock(wall_start=START)
    tasks = TaskSystem(general=1, clock=clock)
    claims = FileClaims(directory) if shared else None  # None: in this process only
    tasks.every("nightly-digest", Every(60), record_run, f"{directory}/runs", clock,
                claims=claims)
    for _ in range(ticks):
        barrier.wait()  # every process reaches the tick together
        clock.advance(60)  # the tick fires here: claim it, and run it if won
        tasks.join(timeout=10)
    barrier.wait()
    tasks.shutdown(timeout=5)
# --8<-- [end:every-process]


def run_workers(shared: bool, processes: int = 2, ticks: int = 3) -> dict[int, int]:
    """Runs of each tick (minute 1, 2, 3) across ``processes`` worker processes."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as directory:
        barrier = spawn.Barrier(processes)
        workers = [spawn.Process(target=worker_process,
                                 args=(directory, shared, barrier, ticks))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        lines = Path(directory, "runs").read_text().split()
    return {tick: lines.count(str(tick)) for tick in range(1, ticks + 1)}


def every_before_and_after() -> tuple[dict[int, int], dict[int, int]]:
    print("Every, first version: a timer in each of 2 worker processes")
    before = run_workers(shared=False)
    print(f"  runs of the digest at minutes 1, 2, 3: {before}")
    print("Every, with FileClaims: each tick claimed by exactly one process")
    after = run_workers(shared=True)
    print(f"  runs of the digest at minutes 1, 2, 3: {after}")
    return before, after


# --8<-- [start:skipped]
def a_tick_nobody_ran() -> dict[str, Any]:
    print("A tick nobody ran is recorded: a deploy, no process up for 3 minutes")
    with tempfile.TemporaryDirectory() as directory:
        runs = f"{directory}/runs"
        for wall_start in (START, START + 240):  # the old process, then the new one
            clock = FakeClock(wall_start=wall_start)
            tasks = TaskSystem(general=1, clock=clock)
            digest = tasks.every("nightly-digest", Every(60), record_run, runs, clock,
                                 claims=FileClaims(directory))
            clock.advance(60)  # minute 1 in the old process, minute 5 in the new
            tasks.join(timeout=10)
            picture = digest.snapshot()
            tasks.shutdown(timeout=5)
        ran = Path(runs).read_text().split()
        print(f"  ran at minutes {', '.join(ran)}; the new process: "
              f"ran_here={picture['ran_here']}, skipped={picture['skipped']} "
              "(minutes 2, 3, 4)")
        return picture
# --8<-- [end:skipped]


# -- how far along -------------------------------------------------------------


# --8<-- [start:progress]
def analysis(steps: int, reported: threading.Semaphore, go: threading.Semaphore,
             report: bool) -> None:
    for step in range(1, steps + 1):
        if report:
            report_progress(step, steps, f"NDVI tile {step}")
        reported.release()  # the demo reads the picture now...
        go.acquire()  # ...and says when to do the next step


def how_far_along(report: bool) -> list[Any]:
    pool = WorkerPool("site", workers=1)
    reported, go = threading.Semaphore(0), threading.Semaphore(0)
    seen = []
    pool.submit(analysis, 12, reported, go, report)
    for step in range(1, 13):
        reported.acquire()
        if step in (1, 6, 12):
            (task,) = pool.snapshot()["running_tasks"]
            progress = task["progress"]
            seen.append(progress)
            shown = "RUNNING, nothing more" if progress is None else (
                f"{progress['current']:g} of {progress['total']:g} "
                f"({progress['fraction']:.0%}): {progress['message']}")
            print(f"  after step {step}: {task['name']}: {shown}")
        go.release()
    pool.join(10)
    print(f"  finished: running_tasks={pool.snapshot()['running_tasks']}")
    pool.shutdown(timeout=5)
    return seen
# --8<-- [end:progress]


class PageHandler(logging.Handler):
    """The core's log lines, printed within the page's column, in order."""

    def emit(self, record: logging.LogRecord) -> None:
        page_print(f"  logged: {record.getMessage()}")


def main() -> None:
    logger = logging.getLogger("dualqueue")
    logger.addHandler(PageHandler())
    logger.propagate = False
    later_before()
    later_after()
    print()
    every_before_and_after()
    a_tick_nobody_ran()
    print()
    print("How far along, first version: the status picture of a 12-step analysis")
    how_far_along(report=False)
    print("How far along, with report_progress")
    how_far_along(report=True)
    print(f"  report_progress outside a pool's worker: {report_progress(1, 12)}")


if __name__ == "__main__":
    main()
