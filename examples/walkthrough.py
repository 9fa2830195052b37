"""A two-minute tour of the core: both pools, a debounced burst, a retry, a status
snapshot, a shutdown.

Run it with ``python -m examples.walkthrough``. Everything it prints is measured
while it runs; the "Earth Engine analyses" and "emails" are short stand-ins
(sleeps and list appends), and it says so.
"""

from __future__ import annotations

import json
import threading
import time

from dualqueue import Retry, TaskSystem

ANALYSIS_SECONDS = 0.5  # a stand-in for a 30 s Earth Engine call


def main(print=print) -> dict[str, object]:
    # --8<-- [start:two-pools]
    tasks = TaskSystem()  # general=2, site=10: no thread yet
    print(
        f"created {tasks!r}; threads started so far: none (pools start on first submit)"
    )

    # -- isolation: 25 slow site analyses, then emails --------------------------------
    release = threading.Event()

    def analyse_site(site_id: int) -> None:
        release.wait(ANALYSIS_SECONDS)

    sent: list[tuple[str, float]] = []
    started = time.perf_counter()

    def send_reset_email(address: str) -> None:
        sent.append((address, time.perf_counter() - started))

    for site_id in range(25):
        tasks.submit("site", analyse_site, site_id)
    for n in range(3):
        tasks.submit("general", send_reset_email, f"user{n}@example.org")
    tasks["general"].join(timeout=10)
    # --8<-- [end:two-pools]
    site = tasks.snapshot()["pools"]["site"]
    print(
        f"site pool: {site['running']} running, {site['queued']} queued (simulated "
        f"{ANALYSIS_SECONDS}s analyses);"
        f" {len(sent)} reset emails sent meanwhile, the slowest "
        f"{max(t for _, t in sent) * 1000:.1f} ms after submit"
    )

    # -- a debounced burst of uploads -----------------------------------------------
    # --8<-- [start:debounce]
    rebuilds: list[list[str]] = []
    index = tasks.debouncer("search-index", rebuilds.append, wait=0.2)
    for n in range(50):
        index.trigger(f"doc-{n}")
    # --8<-- [end:debounce]
    print(
        f"50 uploads triggered the index; pending={index.pending}, runs so "
        f"far={len(rebuilds)}"
    )
    deadline = time.monotonic() + 10
    while (
        index.pending or index.running or not rebuilds
    ) and time.monotonic() < deadline:
        time.sleep(0.02)
    tasks["general"].join(timeout=10)
    print(
        f"after 0.2 s of quiet: {len(rebuilds)} rebuild with {len(rebuilds[0])} "
        "documents"
    )

    # -- a retry on the general pool ---------------------------------------------------
    # --8<-- [start:retry]
    attempts: list[float] = []

    @Retry(attempts=3, base_delay=0.05, jitter=0, retry_on=(TimeoutError,))
    def flaky_quota_call() -> None:
        attempts.append(time.perf_counter())
        if len(attempts) < 3:
            raise TimeoutError("quota exceeded (simulated)")

    tasks.submit("general", flaky_quota_call)
    # --8<-- [end:retry]
    tasks["general"].join(timeout=10)
    print(
        "a task failed twice with a simulated quota error and succeeded on attempt "
        f"{len(attempts)}"
    )

    # -- the status picture, then shutdown --------------------------------------------
    release.set()
    tasks.join(timeout=10)
    # --8<-- [start:shutdown]
    snapshot = tasks.snapshot()
    for name, pool in snapshot["pools"].items():
        print(
            f"{name:>7}: submitted={pool['submitted']} succeeded={pool['succeeded']} "
            f"failed={pool['failed']}"
            f" retried={pool['retried']} "
            f"alive_workers={pool['alive_workers']}/{pool['workers']}"
        )
    report = tasks.shutdown(timeout=5)
    # --8<-- [end:shutdown]
    print(
        f"shutdown: finished={report.finished} dropped={list(report.dropped)} "
        f"complete={report.complete}"
    )
    abridged = json.dumps(
        {"pid": snapshot["pid"], "general": snapshot["pools"]["general"]}
    )[:200]
    print("status JSON (abridged):", abridged)
    return {
        "sent": len(sent),
        "rebuilds": rebuilds,
        "attempts": len(attempts),
        "snapshot": snapshot,
        "report": report,
    }


if __name__ == "__main__":
    main()
