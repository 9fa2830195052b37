"""Periodic ticks and deferred tasks across real gunicorn worker processes, a killed worker and a full restart.

The demo runs under gunicorn with two worker processes and ``tests.e2e.time_settings`` (its own
settings plus a periodic entry every ``EVERY`` seconds). Each run of the test tasks appends one line
to a file (``tests/e2e/time_tasks.py``), so the test counts runs per tick and per deferred task:

* each tick runs in exactly one process (never two lines for one tick), also after one worker is
  SIGKILLed mid-flight (gunicorn starts another), and every tick between the first and the last
  that nobody ran is recorded as skipped in the claims row (ran + skipped == ticks spanned);
* a deferred task enqueued before a full stop of the server, due while it is down, runs exactly
  once after the restart, no earlier than its ``run_after``.

The waits are deadlock detectors, generous for a shared 2-core machine; nothing asserts a latency.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import DemoEnv, running_gunicorn, wait_until, worker_pids

pytestmark = pytest.mark.slow

EVERY = 2.0  # seconds between ticks: short, so the test sees many in a few seconds
TICKS_WAITED = 60.0  # deadlock detector for a number of ticks to happen


def _records(path: Path, kind: str) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["kind"] == kind]


def _claims(demo: DemoEnv) -> dict[str, float]:
    return demo.query(
        "import json; from dualqueue.django.models import PeriodicClaim as P; "
        "r = P.objects.filter(name='e2e-tick').values('last_tick', 'runs', 'skipped').first(); print(json.dumps(r))"
    )


def _demo(make_demo: Callable[..., DemoEnv], record: Path) -> DemoEnv:
    return make_demo(
        DJANGO_SETTINGS_MODULE="tests.e2e.time_settings",
        E2E_TIME_RECORD=str(record),
        E2E_TICK_EVERY=str(EVERY),
    )


def test_each_tick_runs_in_exactly_one_process_even_when_a_worker_is_killed(
    make_demo: Callable[..., DemoEnv], tmp_path: Path
) -> None:
    record = tmp_path / "runs.jsonl"
    demo = _demo(make_demo, record)
    with running_gunicorn(demo, workers=2) as server:
        wait_until(lambda: len(_records(record, "tick")) >= 4, TICKS_WAITED, "four ticks")
        victim = worker_pids(server.pid)[0]
        os.kill(victim, signal.SIGKILL)  # no drain, no exit hook: gunicorn starts a new worker
        wait_until(lambda: victim not in worker_pids(server.pid) and len(worker_pids(server.pid)) == 2,
                   TICKS_WAITED, "gunicorn to replace the killed worker")  # fmt: skip
        seen = len(_records(record, "tick"))
        wait_until(lambda: len(_records(record, "tick")) >= seen + 4, TICKS_WAITED, "four more ticks")
    ticks = _records(record, "tick")
    per_tick = Counter(round(float(r["at"]) / EVERY) for r in ticks)  # type: ignore[arg-type]
    doubled = {tick: n for tick, n in per_tick.items() if n > 1}
    assert not doubled, f"ticks run by more than one process: {doubled}\n{server.log()}"
    claims = _claims(demo)
    first, last = min(per_tick), max(per_tick)
    assert claims["runs"] == len(per_tick), f"every claimed tick ran once: {claims} vs {len(per_tick)} ticks run"
    spanned = last - first + 1
    assert claims["runs"] + claims["skipped"] == spanned, (
        f"ticks spanned {spanned} = ran {claims['runs']} + skipped {claims['skipped']}: a gap must be recorded"
    )
    assert round(claims["last_tick"] / EVERY) == last
    pids = {r["pid"] for r in ticks}
    assert victim not in pids or len(pids) >= 2, pids  # ticks went on without the killed worker


def test_a_deferred_task_due_during_a_full_restart_runs_once_after_it(
    make_demo: Callable[..., DemoEnv], tmp_path: Path
) -> None:
    record = tmp_path / "runs.jsonl"
    demo = _demo(make_demo, record)
    with running_gunicorn(demo, workers=2) as server:
        # Enqueued from a third process (a shell) against the running server's database: its row
        # waits READY with its run_after; the shell exits before it is due.
        due = demo.query(
            "import json, datetime; from django.utils import timezone; "
            "from tests.e2e.time_tasks import record_deferred; "
            "at = timezone.now() + datetime.timedelta(seconds=8); "
            "r = record_deferred.using(run_after=at).enqueue('after-restart'); print(json.dumps(at.timestamp()))"
        )
        server.terminate(timeout=60)  # the whole server stops before the task is due
    assert _records(record, "deferred") == [], "it was not due yet: nobody may run it early"
    wait_until(lambda: time.time() > due + 1, 30, "the deferred task's time to pass while no server runs")
    with running_gunicorn(demo, workers=2) as server:
        wait_until(lambda: _records(record, "deferred"), TICKS_WAITED, f"the deferred task to run\n{server.log()}")
        time.sleep(3 * EVERY)  # room for a second (wrong) run by the other worker to show up
    runs = _records(record, "deferred")
    assert len(runs) == 1, f"exactly once across the two workers of the restarted server: {runs}"
    assert float(runs[0]["at"]) >= due  # type: ignore[arg-type]
    status = demo.query(
        "import json; from dualqueue.django.models import TaskResultRecord as R; "
        "print(json.dumps(list(R.objects.filter(task_path='tests.e2e.time_tasks.record_deferred')"
        ".values_list('status', flat=True))))"
    )
    assert status == ["SUCCESSFUL"], status
