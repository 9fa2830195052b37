"""Chapter 9 demo: the emails a deploy loses, the honest shutdown, and a fork.

The fork is like gunicorn --preload's.

    python -m chapters.ch09_shutdown_and_fork.demo

Every number printed is measured on this run. The deploys are real processes
that queue twenty emails and end; the fork is a real ``os.fork()``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import PoolClosedError
from .system import TaskSystem

ROOT = Path(__file__).resolve().parents[2]

# --8<-- [start:deploy]
DEPLOY = """
import importlib, sys, time
core = importlib.import_module(sys.argv[1])
tasks = core.TaskSystem(general=2, site=10)
sent = open(sys.argv[2], "a")

def send_email(n):
    time.sleep(0.05)  # talking to the SMTP server
    sent.write(f"{n}\\n")
    sent.flush()

for n in range(20):  # twenty password resets, in the last second before the deploy
    tasks.submit("general", send_email, n)
# the deploy stops the process here: the interpreter exits
"""
# --8<-- [end:deploy]


def deploy(module: str) -> dict[str, Any]:
    """Run DEPLOY against ``module`` in a fresh interpreter; how many of the 20 emails
    were sent?"""
    with tempfile.TemporaryDirectory() as folder:
        sent = Path(folder) / "sent.txt"
        sent.touch()
        started = time.monotonic()
        process = subprocess.run(
            [sys.executable, "-c", DEPLOY, module, str(sent)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        return {
            "exit_code": process.returncode,
            "sent": len(sent.read_text().split()),
            "stderr": process.stderr.strip(),
            "seconds": time.monotonic() - started,
        }


analyses_may_finish = threading.Event()
analyses_running = threading.Semaphore(0)


def analyse_site(site_id: int) -> None:
    """A 30-second Earth Engine call that has not returned yet."""
    analyses_running.release()
    analyses_may_finish.wait()


emails_may_finish = threading.Event()
emails_running = threading.Semaphore(0)


def send_email(user_id: int) -> None:
    """An SMTP conversation that ends once the shutdown has begun (see below)."""
    emails_running.release()
    emails_may_finish.wait(timeout=10)


def answer_once_intake_stops(pool: Any) -> None:
    """Let the emails finish once ``pool`` has closed: the shutdown's picture of what
    was queued and running is then the same on every run (no race with the workers)."""
    while not pool.closed:
        time.sleep(0.001)
    emails_may_finish.set()


def shortened(names: tuple[str, ...]) -> list[str]:
    return [name.rpartition(".")[2] for name in names]


def honest_shutdown(print: Callable[..., None]) -> dict[str, Any]:
    tasks = TaskSystem(general=2, site=2)
    analyses_may_finish.clear()
    emails_may_finish.clear()

    index = tasks.debouncer("search-index", lambda batch: None, wait=15)
    index.trigger("doc-1")  # a pending rebuild, 15 s away
    for site_id in range(5):  # two run, three wait
        tasks.submit("site", analyse_site, site_id)
    for _ in range(2):
        analyses_running.acquire(timeout=10)
    for user_id in range(5):  # two are sent, three wait
        tasks.submit("general", send_email, user_id)
    for _ in range(2):
        emails_running.acquire(timeout=10)
    threading.Thread(target=answer_once_intake_stops, args=(tasks["general"],)).start()
    report = tasks.shutdown(timeout=0.3)
    try:
        tasks.submit("general", send_email, 99)
    except PoolClosedError as exc:
        refused = str(exc)
    analyses_may_finish.set()
    print(
        "shutdown(timeout=0.3) with 2 analyses that never return, 3 queued, 5 emails, "
        "a pending index rebuild:"
    )
    for name, pool in report.pools.items():
        print(
            f"  {name}: queued {pool.queued}, running {pool.running} when intake "
            "stopped -> finished "
            f"{pool.finished}, dropped {shortened(pool.dropped)}, still running "
            f"{shortened(pool.still_running)}"
        )
    print(
        f"  every task accounted for: {report.finished} + {len(report.dropped)} + "
        f"{len(report.still_running)} "
        f"== {report.queued} + {report.running}, in {report.elapsed:.2f} s"
    )
    print(f"  a submit after shutdown: PoolClosedError: {refused}")
    return {"report": report, "refused": refused}


def fork_a_worker(module: str, deadline: float = 10.0) -> dict[str, Any]:
    """Use a TaskSystem, fork (as gunicorn --preload does), ask the child what it finds.

    The child answers through a pipe: what it inherited, and whether a task it
    submits runs. A child that does not answer within ``deadline`` is stuck on
    a lock that some thread of the parent held at the moment of the fork; it is
    killed, and the verdict says it deadlocked.
    """
    core = importlib.import_module(module)
    tasks = core.TaskSystem(general=2, site=1)
    for _ in range(3):
        tasks.submit("general", time.sleep, 0)
    tasks.join(timeout=10)
    analysis_started, analysis_may_finish = threading.Event(), threading.Event()
    tasks.submit("site", lambda: (analysis_started.set(), analysis_may_finish.wait()))
    analysis_started.wait(
        timeout=10
    )  # the one site worker is busy in the parent while it forks...
    for _ in range(3):
        tasks.submit("site", time.sleep, 0)  # ...with a backlog behind it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a gunicorn worker process
        verdict: dict[str, Any] = {}
        try:
            before = tasks.snapshot()["pools"]
            verdict["inherited"] = {
                name: pool["submitted"] for name, pool in before.items()
            }
            ran = threading.Event()
            tasks.submit("general", ran.set)
            verdict["new_task_ran"] = ran.wait(
                timeout=0.5
            )  # sound: a dead pool can never run it
        finally:
            os.write(write, json.dumps(verdict).encode())
            os._exit(0)
    os.close(write)
    answer = b""
    give_up = time.monotonic() + deadline
    while (remaining := give_up - time.monotonic()) > 0 and select.select(
        [read], [], [], remaining
    )[0]:
        chunk = os.read(read, 65536)
        if not chunk:
            break
        answer += chunk
    os.close(read)
    if answer:
        os.waitpid(pid, 0)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    analysis_may_finish.set()
    tasks.join(timeout=10)
    return json.loads(answer) if answer else {"deadlocked": True}


def main(print: Callable[..., None] = print) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for label, module in (
        ("chapter 8, daemon workers only", "chapters.ch08_failures_and_retries"),
        ("chapter 9, exit drain", "chapters.ch09_shutdown_and_fork"),
    ):
        outcome = deploy(module)
        print(
            f"deploy with 20 emails queued, {label}: {outcome['sent']} of 20 sent, "
            "exit code "
            f"{outcome['exit_code']}, in {outcome['seconds']:.2f} s; stderr: "
            f"{outcome['stderr'] or '(nothing)'}"
        )
        result[module] = outcome

    logger = logging.getLogger("dualqueue")
    quiet = (
        logging.NullHandler()
    )  # the shutdown's warning says what the report says; print the report
    logger.addHandler(quiet)
    propagate, logger.propagate = logger.propagate, False
    try:
        result["shutdown"] = honest_shutdown(print)
    finally:
        logger.propagate = propagate
        logger.removeHandler(quiet)

    for label, module in (
        ("chapter 8", "chapters.ch08_failures_and_retries"),
        ("chapter 9", "chapters.ch09_shutdown_and_fork"),
    ):
        verdict = fork_a_worker(module)
        if verdict.get("deadlocked"):
            print(
                f"fork after use, {label}: the child deadlocked on a lock held at the "
                "moment of the fork"
            )
        else:
            print(
                f"fork after use, {label}: the child inherited submitted counts "
                f"{verdict['inherited']}; "
                f"a task it submitted ran: {verdict['new_task_ran']}"
            )
        result[f"fork {module}"] = verdict
    return result


if __name__ == "__main__":
    from chapters.page import page_print  # lines that fit the page

    main(print=page_print)
