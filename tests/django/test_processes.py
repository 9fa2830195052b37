"""One picture across processes: what other processes published is shown, live, exited or gone, and never merged.

Other processes are simulated by the files they would publish (the same writer, ``publish_now``,
run in a forked child, for one test); the gunicorn end-to-end test runs the real thing.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import TestCase
from dualqueue.django import conf, metrics, processes, registry, views
from prometheus_client.parser import text_string_to_metric_families

from tests.django import tasks
from tests.django.support import DEADLOCK


def directory() -> Path:
    return Path(conf.get_settings().processes_dir or "")


def fake_process(pid: int, token: str, *, age: float = 0.0, exited: bool = False, **pools: dict[str, Any]) -> Path:
    """Write the file another process would publish, ``age`` seconds ago, with these pools' counters."""
    base = {"workers": 2, "alive_workers": 2, "started": True, "queued": 0, "running": 0, "submitted": 0,
            "succeeded": 0, "failed": 0, "dropped": 0, "rejected": 0, "retried": 0, "oldest_queued_seconds": None,
            "dead_letters": [], "recent": []}
    who = processes.Identity("elsewhere.example", pid, token)
    record = {
        "identity": who.as_dict(),
        "published_at": time.time() - age,
        "exited": exited,
        "picture": {"pid": pid, "started_at": "2026-01-01T00:00:00.000+00:00", "debouncers": {},
                    "pools": {name: {**base, "name": name, **values} for name, values in pools.items()}},
    }
    directory().mkdir(parents=True, exist_ok=True)
    path = directory() / f"{who.key}{processes.SUFFIX}"
    path.write_text(json.dumps(record))
    return path


def clear_directory() -> None:
    """Forget every process's picture (ours comes back at its next publish)."""
    directory().mkdir(parents=True, exist_ok=True)
    for old in directory().glob(f"*{processes.SUFFIX}"):
        old.unlink()


class CrossProcessPictureTests(TestCase):
    def setUp(self) -> None:
        clear_directory()
        self.addCleanup(clear_directory)  # no made-up process outlives its test

    def test_the_test_settings_publish_into_a_private_directory(self) -> None:
        self.assertTrue(str(directory()).startswith(str(Path(settings.MEDIA_ROOT).parent)), directory())

    def test_every_live_process_is_listed_and_totalled_whichever_answers(self) -> None:
        fake_process(101, "t1", general={"succeeded": 5, "submitted": 5}, site={"running": 3, "submitted": 3})
        tasks.noop.enqueue()
        self.assertTrue(registry.join(DEADLOCK))
        shown = views.picture()
        by_pid = {p["pid"]: p for p in shown["processes"]}
        self.assertEqual(set(by_pid), {101, os.getpid()})
        self.assertEqual(by_pid[os.getpid()]["state"], "live")
        self.assertTrue(by_pid[os.getpid()]["this"])
        self.assertEqual(by_pid[101]["state"], "live")
        self.assertEqual(shown["totals"]["live_processes"], 2)
        general = shown["totals"]["pools"]["general"]
        self.assertEqual(general["succeeded"], 5 + 1)
        self.assertEqual(general["workers"], 2 + 2)
        self.assertEqual(shown["totals"]["pools"]["site"]["running"], 3)

    def test_a_silent_process_is_gone_with_what_it_left_unfinished(self) -> None:
        stale = processes.STALE_AFTER * conf.get_settings().publish_interval + 1
        fake_process(202, "t2", age=stale, site={"queued": 4, "running": 2, "submitted": 6})
        shown = views.picture()
        gone = next(p for p in shown["processes"] if p["pid"] == 202)
        self.assertEqual(gone["state"], "gone")
        self.assertEqual(gone["unfinished"], {"site": {"queued": 4, "running": 2}})
        self.assertEqual(shown["totals"]["live_processes"], 1, "a gone process is not in the totals")
        self.assertEqual(shown["totals"]["pools"]["site"]["queued"], 0)

    def test_a_process_that_shut_down_says_exited_and_old_ones_are_forgotten(self) -> None:
        fake_process(303, "t3", exited=True, general={"queued": 1})
        forgotten = fake_process(404, "t4", age=processes.GONE_KEPT + 5, general={})
        states = {p["pid"]: p["state"] for p in views.picture()["processes"]}
        self.assertEqual(states.get(303), "exited")
        self.assertNotIn(404, states)
        self.assertFalse(forgotten.exists(), "a process gone longer than GONE_KEPT keeps its file")

    def test_a_reused_pid_on_this_host_is_another_process(self) -> None:
        # This process's own pid, published under another start token (as the process that had the
        # pid before us would have): it is gone, though a process with its pid runs, and its fresh
        # heartbeat does not make it live.
        me = processes.identity()
        if "." not in me.start_token:
            self.skipTest("no /proc start time on this platform: pid reuse is only told by the heartbeat")
        who = processes.Identity(me.host, me.pid, me.start_token.split(".")[0] + ".1")
        record = {"identity": who.as_dict(), "published_at": time.time(), "exited": False,
                  "picture": {"pid": me.pid, "started_at": None, "pools": {}, "debouncers": {}}}
        (directory() / f"{who.key}{processes.SUFFIX}").write_text(json.dumps(record))
        shown = views.picture()
        states = sorted((p["state"], p["this"]) for p in shown["processes"] if p["pid"] == me.pid)
        self.assertEqual(states, [("gone", False), ("live", True)])

    def test_a_torn_or_foreign_file_is_ignored(self) -> None:
        (directory() / f"junk{processes.SUFFIX}").write_text('{"identity": ')
        (directory() / "notes.txt").write_text("hello")
        self.assertEqual([p["pid"] for p in views.picture()["processes"]], [os.getpid()])

    def test_publishing_writes_atomically_and_a_forked_child_publishes_as_itself(self) -> None:
        private = directory() / "private"  # this process's own publisher writes beside, not here
        path = processes.publish_now(private)
        record = json.loads(path.read_text())
        self.assertEqual(record["identity"]["pid"], os.getpid())
        self.assertEqual([p.name for p in private.iterdir()], [path.name], "a temporary file was left behind")
        child = os.fork()
        if child == 0:  # the child: a new identity, and its own publisher thread
            code = 1
            try:
                processes.ensure_publishing()
                deadline = time.monotonic() + DEADLOCK
                mine = processes.identity()
                while time.monotonic() < deadline:
                    if (directory() / f"{mine.key}{processes.SUFFIX}").exists():
                        code = 0 if mine.pid == os.getpid() and mine.key != record["identity"]["key"] else 2
                        break
                    time.sleep(0.02)
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "the child did not publish under its own identity")
        pids = {p["pid"] for p in views.picture()["processes"]}
        self.assertIn(child, pids)

    def test_metrics_keep_each_process_in_its_own_series(self) -> None:
        fake_process(505, "t5", general={"succeeded": 7, "submitted": 7})
        fake_process(606, "t6", age=processes.STALE_AFTER * 10, site={"running": 1, "submitted": 1})
        text, _ = metrics.render(views.picture())
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        me = str(os.getpid())
        self.assertEqual(samples[("dualqueue_pool_tasks_succeeded_total", (("pid", "505"), ("pool", "general")))], 7)
        self.assertIn(("dualqueue_pool_tasks_succeeded_total", (("pid", me), ("pool", "general"))), samples)
        self.assertNotIn(("dualqueue_pool_running", (("pid", "606"), ("pool", "site"))), samples, "a gone process")
        self.assertEqual(samples[("dualqueue_processes", (("state", "live"),))], 2)
        self.assertEqual(samples[("dualqueue_processes", (("state", "gone"),))], 1)
        left = [k for k in samples if k[0] == "dualqueue_process_unfinished_tasks" and ("kind", "running") in k[1]]
        self.assertEqual(len(left), 1)
        self.assertEqual(samples[left[0]], 1)

    def test_the_page_shows_every_process_and_not_started_pools(self) -> None:
        fake_process(707, "t7", general={"succeeded": 2, "submitted": 2})
        staff = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
        self.client.force_login(staff)
        html = self.client.get("/background-tasks/status/page/").content.decode()
        self.assertIn('data-pid="707" data-state="live"', html)
        self.assertIn(f'data-pid="{os.getpid()}" data-state="live"', html)
        self.assertIn("(not started)", html, "a pool that never ran a task here reads as not started")
        self.assertIn('<span id="live-count">2</span> live worker processes', html)


class HostileFolderTests(TestCase):
    """Whatever else lands in the folder (torn writes, other programs, an attacker with write access
    to it) is skipped: the status still answers, from the well-formed pictures."""

    def setUp(self) -> None:
        clear_directory()
        self.addCleanup(clear_directory)

    def test_malformed_pictures_are_skipped_and_the_status_still_answers(self) -> None:
        good = fake_process(808, "t8", general={"succeeded": 1, "submitted": 1})
        record = json.loads(good.read_text())
        bad_shapes = [
            [],
            {"identity": "x", "published_at": 1.0, "picture": {}},
            {**record, "identity": {**record["identity"], "pid": "808"}},
            {**record, "published_at": "yesterday"},
            {**record, "picture": {**record["picture"], "pools": "general"}},
            {**record, "picture": {**record["picture"], "pools": {"general": {"queued": "many"}}}},
            {**record, "picture": {**record["picture"], "pools": {"general": {"queued": True}}}},
            {**record, "picture": {**record["picture"], "pools": {"general": {"recent": ["x"]}}}},
            {**record, "picture": {**record["picture"], "debouncers": {"d": 3}}},
        ]
        for i, shape in enumerate(bad_shapes):
            (directory() / f"bad{i}{processes.SUFFIX}").write_text(json.dumps(shape))
        (directory() / f"huge{processes.SUFFIX}").write_bytes(b" " * (processes.MAX_FILE_BYTES + 1))
        staff = get_user_model().objects.create_user("ops", "ops@example.com", "pw", is_staff=True)
        self.client.force_login(staff)
        for url in ("/background-tasks/status/", "/background-tasks/status/page/", "/background-tasks/metrics/"):
            with self.subTest(url):
                self.assertEqual(self.client.get(url).status_code, 200)
        self.assertEqual(sorted(p["pid"] for p in views.picture()["processes"]), sorted([808, os.getpid()]))

    def test_a_folder_that_cannot_be_written_is_logged_and_the_publisher_goes_on(self) -> None:
        blocker = directory() / "not-a-folder"
        blocker.write_text("a file where the folder should be")
        publisher = processes._Publisher(blocker / "processes", interval=0.01)
        with self.assertLogs("dualqueue", "WARNING") as logs:
            publisher.start()
            deadline = time.monotonic() + DEADLOCK
            while publisher._failures < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            publisher.stopped.set()
            publisher.join(DEADLOCK)
        self.assertGreaterEqual(publisher._failures, 3)
        self.assertFalse(publisher.is_alive())
        self.assertIn("could not publish this process's status (1 times)", logs.output[0])
        self.assertEqual(len(logs.output), 1, "a failing folder is logged at 1, 10, 100... failures, not each time")

    def test_a_process_that_stops_publishing_says_it_exited_and_does_not_start_again(self) -> None:
        # Start from a running publisher of our own, whatever earlier tests did (gunicorn's
        # worker_exit hook, driven in this process by tests/django/test_gunicorn.py, stops it).
        processes.stop_publishing(exited=False)
        processes._publisher_pid = 0
        processes.ensure_publishing()
        mine = directory() / f"{processes.identity().key}{processes.SUFFIX}"
        deadline = time.monotonic() + DEADLOCK
        while not mine.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            processes.stop_publishing(exited=True)
            self.assertTrue(json.loads(mine.read_text())["exited"])
            registry.get_task_system()  # would start a publisher if stopping had not stuck
            self.assertIsNone(processes._publisher)
        finally:
            processes._publisher_pid = 0  # let later tests publish again

