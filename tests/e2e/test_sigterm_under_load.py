"""A deploy's SIGTERM under load (issue 6): in-flight work finishes, the rest is named and counted, exit is bounded.

The demo runs under a real gunicorn (gthread, ``--preload``, 2 workers) with the adapter's hooks
(``-c python:dualqueue.django.gunicorn``). The test fills both workers' site pools (10 running
each) with a backlog of analyses behind them, then sends SIGTERM to the master, as a deploy does.
Each worker's ``worker_exit`` hook drains its pools for what is left of gunicorn's graceful timeout
and logs its ``ShutdownReport``. The test checks that report against the database, where each
analysis row says what became of it: ``SUCCESSFUL`` (finished), ``RUNNING`` (abandoned mid-run at
the deadline), ``READY`` (never started: dropped).

Delivery is at-most-once by design: what could not finish is lost, but never silently.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.e2e.harness import DemoClient, DemoEnv, Gunicorn
from tests.e2e.workload import (
    ANALYSIS_TASK,
    ONE_ACCOUNT_LOAD,
    SITE_WORKERS,
    create_site,
    login_staff,
    post_analyses_until_saturated,
)

pytestmark = pytest.mark.slow

WORKERS = 2
SERVICE_SECONDS = 5  # each analysis holds a site worker this long (Earth Engine dry run)
GRACEFUL_TIMEOUT = 9  # gunicorn --graceful-timeout; the adapter drains for this minus its 2 s margin
BACKLOG = 2 * SITE_WORKERS  # queued per worker: more than one more wave can run in the drain
EXIT_MARGIN = 10.0  # beyond the graceful timeout, for process exit on a busy 2-core machine

# The line the adapter's worker_exit hook logs (dualqueue.django.gunicorn.worker_exit).
DRAINED = re.compile(
    r"dualqueue: worker (?P<pid>\d+) drained for (?P<elapsed>[\d.]+)s \(budget (?P<budget>[\d.]+)s\): "
    r"(?P<finished>\d+) finished, (?P<dropped>\d+) dropped (?P<dropped_names>\[.*?\]), "
    r"(?P<still>\d+) still running (?P<still_names>\[.*?\])$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Drained:
    """One worker's logged ShutdownReport."""

    elapsed: float
    budget: float
    finished: int
    dropped: list[str]
    still_running: list[str]


def drained_reports(log: str) -> dict[int, Drained]:
    reports = {}
    for m in DRAINED.finditer(log):
        dropped, still = ast.literal_eval(m["dropped_names"]), ast.literal_eval(m["still_names"])
        assert len(dropped) == int(m["dropped"]) and len(still) == int(m["still"]), f"counts and names disagree: {m[0]}"
        reports[int(m["pid"])] = Drained(float(m["elapsed"]), float(m["budget"]), int(m["finished"]), dropped, still)
    return reports


ANALYSES = """
import json
from esg.sites.models import Analysis
print(json.dumps([[str(a.id), a.status, a.started.timestamp() if a.started else None] for a in Analysis.objects.all()]))
"""


def test_sigterm_drains_in_flight_analyses_and_logs_what_it_could_not_finish_by_name(
    make_demo: Callable[..., DemoEnv], figures: dict[str, object]
) -> None:
    # GEE_MAX_CONCURRENT=10: every running analysis holds a service slot, none waits for one.
    # One account posts every analysis: its limit of unfinished analyses is lifted for the load.
    demo = make_demo(
        GEE_DRY_RUN_SECONDS=str(SERVICE_SECONDS), GEE_MAX_CONCURRENT=str(SITE_WORKERS), **ONE_ACCOUNT_LOAD
    )
    server = Gunicorn(demo, workers=WORKERS, extra_args=["--graceful-timeout", str(GRACEFUL_TIMEOUT)])
    try:
        server.start()
        client = DemoClient(server.base_url)
        login_staff(client)
        site_url = create_site(client)
        posted, pools = post_analyses_until_saturated(client, site_url, workers=WORKERS, backlog=BACKLOG)
        signalled_at = time.time()  # wall clock, as the rows' `started` timestamps
        stopped = server.terminate(timeout=GRACEFUL_TIMEOUT + 60)  # deadlock detector; the bound is asserted below
    finally:
        server.kill()

    reports = drained_reports(stopped.log)
    rows = demo.query(ANALYSES)
    status = {result_id: state for result_id, state, _ in rows}
    in_flight = [result_id for result_id, _, started in rows if started is not None and started <= signalled_at]
    count = {state: sum(1 for s in status.values() if s == state) for state in ("SUCCESSFUL", "RUNNING", "READY")}
    dropped = [name for r in reports.values() for name in r.dropped]
    abandoned = [name for r in reports.values() for name in r.still_running]
    figures.update(
        analyses_posted=len(posted),
        queued_per_worker_at_sigterm={str(pid): p["queued"] for pid, p in pools.items()},
        in_flight_at_sigterm=len(in_flight),
        exit_seconds=round(stopped.seconds, 2),
        worker_gone_seconds={str(pid): round(t, 2) for pid, t in stopped.workers_gone.items()},
        graceful_timeout=GRACEFUL_TIMEOUT,
        per_worker={
            str(pid): {
                "drain_s": r.elapsed, "budget_s": r.budget, "finished": r.finished,
                "dropped": len(r.dropped), "still_running": len(r.still_running),
            }
            for pid, r in reports.items()
        },
        rows=count,
    )
    print(f"\nSIGTERM under load: {figures}")

    assert set(reports) == set(pools), (
        f"expected one drain report from each worker {sorted(pools)}, got {sorted(reports)}:\n{stopped.log}"
    )
    assert stopped.returncode == 0, f"gunicorn exited {stopped.returncode}:\n{stopped.log}"
    assert stopped.seconds < GRACEFUL_TIMEOUT + EXIT_MARGIN, (
        f"gunicorn took {stopped.seconds:.1f}s to exit after SIGTERM (graceful timeout {GRACEFUL_TIMEOUT}s)"
    )
    for pid, r in reports.items():
        assert r.budget <= GRACEFUL_TIMEOUT - 2.0 and r.elapsed <= r.budget + 1.0, f"worker {pid} overran: {r}"

    # Every analysis that was running when the signal came finished, within the graceful timeout.
    assert len(in_flight) >= WORKERS * SITE_WORKERS, f"only {len(in_flight)} analyses had started before SIGTERM"
    unfinished = {i: status[i] for i in in_flight if status[i] != "SUCCESSFUL"}
    assert not unfinished, f"analyses in flight at SIGTERM did not finish: {unfinished}"

    # What could not finish is in the log, by name and count, and the database agrees: a dropped
    # analysis never started (READY). One abandoned at the deadline (logged "still running") is
    # RUNNING, unless its thread got to finish it while the process was on its way out.
    assert dropped or abandoned, f"the backlog was meant to outlast the drain, yet nothing was left: {reports}"
    assert set(dropped) | set(abandoned) == {ANALYSIS_TASK}, f"unexpected task names: {set(dropped) | set(abandoned)}"
    assert count["READY"] == len(dropped), f"{count['READY']} analyses never started; the logs dropped {len(dropped)}"
    assert count["RUNNING"] <= len(abandoned), (
        f"{count['RUNNING']} analyses were cut off mid-run; the logs name only {len(abandoned)} still running"
    )
    assert sum(count.values()) == len(posted) == len(status), f"rows by status {count}, posted {len(posted)}"

    # The adapter keeps 2 s of the graceful timeout for logging and exiting: a worker should be gone
    # by then, not killed by gunicorn at the timeout (the exit hook must not drain again what
    # worker_exit's shutdown already abandoned).
    lingered = {pid: t for pid, t in stopped.workers_gone.items() if t >= GRACEFUL_TIMEOUT - 0.5}
    assert not lingered, (
        f"workers {sorted(lingered)} were still alive at gunicorn's graceful timeout ({GRACEFUL_TIMEOUT}s) "
        f"after draining for {[r.elapsed for r in reports.values()]}s: gunicorn SIGKILLed them "
        f"(exit times {stopped.workers_gone})"
    )
