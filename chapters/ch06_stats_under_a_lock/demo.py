"""Chapter 6 demo: the status picture, then the lost update: missed by a stress test,
found by construction.

    python -m chapters.ch06_stats_under_a_lock.demo

Every number printed is measured on this run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .experiment import consistent, hammer, two_workers_finish
from .naive import NaiveStatsPool
from .pool import WorkerPool
from .system import TaskSystem

HAMMERED = 20_000


class SMTPUnavailable(Exception):
    pass


def send_reset_email(user_id: int) -> None:
    raise SMTPUnavailable(
        "421 mail.example.com: service not available, closing channel\n(the server's "
        "banner)"
    )


def status_picture(print: Callable[..., None]) -> dict[str, Any]:
    tasks = TaskSystem(general=2, site=3)
    release = threading.Event()
    running = threading.Semaphore(0)

    def analyse_site(site_id: int) -> None:
        running.release()
        release.wait()

    for site_id in range(5):  # three run, two wait
        tasks.submit("site", analyse_site, site_id)
    for _ in range(3):
        running.acquire(timeout=10)
    tasks.submit("general", send_reset_email, 4242)
    tasks.submit("general", lambda: None)
    tasks["general"].join(timeout=10)
    time.sleep(0.2)  # let the two queued analyses age a little
    picture = tasks.snapshot()
    release.set()
    tasks.join(timeout=10)
    site, general = picture["pools"]["site"], picture["pools"]["general"]
    print(
        f"status of pid {picture['pid']}: 5 analyses on site=3 (3 running, 2 queued),"
        "\n  2 emails on general=2 (1 failed)"
    )
    for name, pool in (("site", site), ("general", general)):
        shown = {
            k: pool[k]
            for k in (
                "submitted",
                "queued",
                "running",
                "succeeded",
                "failed",
                "dropped",
            )
        }
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    print(
        f"  site: oldest queued for {site['oldest_queued_seconds']:.2f} s,"
        f" oldest running for {site['oldest_running_seconds']:.2f} s"
    )
    print("  general last_error:")
    for key, value in general["last_error"].items():
        print(f"    {key}: {json.dumps(value)}")
    print(
        "  every pool: submitted == queued + running + succeeded + failed + dropped:"
        f" {all(consistent(p) for p in picture['pools'].values())}"
    )
    return picture


class PrintHandler(logging.Handler):
    """Shows the pool's log lines in the demo's output, without their tracebacks."""

    def __init__(self, print: Callable[..., None]) -> None:
        super().__init__()
        self.print = print

    def emit(self, record: logging.LogRecord) -> None:
        self.print(f"  logged, with its traceback:\n    {record.getMessage()}")


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    logger = logging.getLogger("dualqueue")
    handler = PrintHandler(print)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        picture = status_picture(print)
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)

    lost = {
        cls.__name__: hammer(cls, tasks=HAMMERED)
        for cls in (NaiveStatsPool, WorkerPool)
    }
    print(
        f"stress test, {HAMMERED:,} tasks on 4 workers, switch interval 1 us:\n"
        f"  updates lost by NaiveStatsPool: {lost['NaiveStatsPool']},"
        f" by WorkerPool: {lost['WorkerPool']}"
    )

    verdicts = {
        cls.__name__: two_workers_finish(cls) for cls in (NaiveStatsPool, WorkerPool)
    }
    for name, v in verdicts.items():
        print(
            f"{name}: worker 0 preempted before each of its {v.explored} instructions"
            " in turn,\n  worker 1 finishing meanwhile"
        )
        print(
            f"  lost a count in {len(v.lost_updates)},"
            f" tore a snapshot in {len(v.torn_snapshots)},"
            f" made worker 1 wait for the mutex in {v.waited}"
        )
        if v.lost_updates:
            print(
                f"  e.g. stopped at {v.lost_updates[-1]}:"
                "\n    two tasks finished, succeeded == 1"
            )
    return {"picture": picture, "hammer_lost": lost, "verdicts": verdicts}


if __name__ == "__main__":
    main()
