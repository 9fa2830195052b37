"""The database result store, across real processes: any process reads any result, after a restart too,
and a result whose process died is reported lost, not running forever.

Each process is a separate ``python`` running ``tests/django/processes/worker.py`` against one SQLite
file (WAL), configured with ``RESULT_STORE = "database"``: nothing is shared but the database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import TransactionTestCase, override_settings

from tests.e2e.harness import REPO

pytestmark = pytest.mark.slow

TIMEOUT = 120.0  # deadlock detector for each process


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(RESULTS_DB=str(db), PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "reference" / "demo")]))
    return env


def _run(db: Path, *args: str) -> Any:
    argv = [sys.executable, "-m", "tests.django.processes.worker", *args]
    done = subprocess.run(argv, cwd=REPO, env=_env(db), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def test_a_process_reads_the_results_of_another_after_it_exited(tmp_path: Path) -> None:
    db = tmp_path / "results.sqlite3"
    _run(db, "migrate")
    ids = _run(db, "enqueue", "alpha", "beta")  # this process ran both tasks, wrote them, exited
    seen = _run(db, "read", *ids, "no-such-id")
    assert seen["results"]["no-such-id"] is None
    for result_id, label in zip(ids, ["alpha", "beta"], strict=True):
        status, value, errors, worker_ids = seen["results"][result_id]
        assert (status, value, errors) == ("SUCCESSFUL", label, []), seen
        assert worker_ids and int(worker_ids[0].split(":")[0]) != seen["pid"], "ran in the other process"
    assert seen["lost"] == [], "finished results are never lost"


def test_a_result_whose_process_was_killed_is_lost_not_running(tmp_path: Path) -> None:
    db = tmp_path / "results.sqlite3"
    _run(db, "migrate")
    argv = [sys.executable, "-m", "tests.django.processes.worker", "hold"]
    holder = subprocess.Popen(argv, cwd=REPO, env=_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line, f"the holding process said nothing: {holder.stderr.read() if holder.stderr else ''}"
        result_id, pid = json.loads(line)
        alive = _run(db, "read", result_id)  # another live process reads the holder's result
        assert alive["results"][result_id][0] == "RUNNING" and alive["lost"] == [], alive
    finally:
        holder.send_signal(signal.SIGKILL)  # no exit hook, no drain: what a crash or an OOM kill leaves
        holder.wait(TIMEOUT)
    after = _run(db, "read", result_id)
    status, _, errors, _ = after["results"][result_id]
    assert (status, errors) == ("FAILED", ["dualqueue.django.results.TaskLost"]), after
    assert after["lost"] == [result_id], f"lost() should list the killed process's result: {after}"
    assert pid != after["pid"]


class DatabaseStoreBoundTests(TransactionTestCase):
    """``RESULTS_KEPT`` bounds the table per backend alias, newest kept, every eviction counted."""

    @override_settings(DUALQUEUE={"RESULT_STORE": "database", "RESULTS_KEPT": 3})
    def test_the_table_keeps_the_newest_results_and_counts_the_rest(self) -> None:
        from dualqueue.django import registry
        from dualqueue.django.compat import TaskResultDoesNotExist, task_backends
        from dualqueue.django.models import TaskResultRecord

        from tests.django import tasks

        results = [tasks.record_run.enqueue(f"run-{i}") for i in range(5)]
        self.assertTrue(registry.join(TIMEOUT))
        store = registry.result_store("default")
        self.assertTrue(store.flush(TIMEOUT))
        kept = list(TaskResultRecord.objects.order_by("id").values_list("result_id", flat=True))
        self.assertEqual(kept, [r.id for r in results[2:]], "the three newest rows are kept, in order")
        snapshot = store.snapshot()
        self.assertEqual((snapshot["kept"], snapshot["limit"], snapshot["evicted"]), (3, 3, 2))
        self.assertEqual((snapshot["unwritten"], snapshot["failed_writes"], snapshot["lost"]), (0, 0, 0))
        with self.assertRaises(TaskResultDoesNotExist):
            task_backends["default"].get_result(results[0].id)
        self.assertEqual(task_backends["default"].get_result(results[-1].id).return_value, "run-4")

    @override_settings(DUALQUEUE={"RESULT_STORE": "database", "RESULTS_KEPT": 2})
    def test_a_running_result_is_not_evicted_nor_brought_back_as_the_newest(self) -> None:
        from dualqueue.django import registry
        from dualqueue.django.compat import TaskResultDoesNotExist, TaskResultStatus, task_backends
        from dualqueue.django.models import TaskResultRecord

        from tests.django import tasks

        from .support import DEADLOCK, wait_for

        backend = task_backends["default"]
        store = registry.result_store("default")
        gate = tasks.gate("held")
        held = tasks.wait_at_gate.enqueue("held")  # the oldest, on one general worker
        self.assertTrue(tasks.ENTERED["held"].wait(DEADLOCK))
        later = [tasks.record_run.enqueue(f"later-{i}") for i in range(3)]  # the other worker

        def finished() -> bool:
            return all(backend.get_result(r.id).status == TaskResultStatus.SUCCESSFUL for r in later)

        self.assertTrue(wait_for(finished))
        self.assertTrue(store.flush(TIMEOUT))  # trimmed to 2 while the oldest still runs
        rows = dict(TaskResultRecord.objects.values_list("result_id", "status"))
        self.assertEqual(rows.get(held.id), str(TaskResultStatus.RUNNING), "a running row was evicted")
        gate.set()
        self.assertTrue(registry.join(TIMEOUT))
        self.assertTrue(store.flush(TIMEOUT))
        kept = list(TaskResultRecord.objects.order_by("id").values_list("result_id", flat=True))
        # Before: the running row was deleted, and its SUCCESSFUL state inserted it again
        # as the newest row, so a newer result was evicted in its place.
        self.assertEqual(kept, [r.id for r in later[1:]], "the two newest results are kept")
        self.assertEqual(store.snapshot()["evicted"], 2)
        with self.assertRaises(TaskResultDoesNotExist):
            backend.get_result(held.id)
