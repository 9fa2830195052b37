"""Later, every, how far along: deferred results in the database, the periodic claims, progress on the result.

Every claim here is proved on the real ORM (SQLite in the tests; the same UPDATEs run on
PostgreSQL), with explicit calls instead of waiting: ``claim`` is called for two "processes" in
turn, as the database would apply their UPDATEs one after the other.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.test import TransactionTestCase, override_settings
from django.utils import timezone
from dualqueue.django import registry
from dualqueue.django.backend import DualqueueBackend, _TaskRun
from dualqueue.django.claims import DatabaseClaims
from dualqueue.django.compat import TaskResult, TaskResultStatus, random_id
from dualqueue.django.models import PeriodicClaim, TaskResultRecord
from dualqueue.django.results import DatabaseResultStore, MemoryResultStore

from tests.django import tasks


def _result(task: Any, run_after: datetime.datetime | None = None) -> TaskResult[Any]:
    if run_after is not None:
        task = task.using(run_after=run_after)
    return TaskResult(
        task=task, id=random_id(), status=TaskResultStatus.READY, enqueued_at=timezone.now(), started_at=None,
        last_attempted_at=None, finished_at=None, args=["x"], kwargs={}, backend="default", errors=[], worker_ids=[],
    )  # fmt: skip


class DatabaseClaimsTests(TransactionTestCase):
    """Each tick is claimed by exactly one process; a tick nobody ran is counted as skipped."""

    def test_two_processes_claiming_the_same_tick_one_wins(self) -> None:
        first, second = DatabaseClaims(), DatabaseClaims()
        self.assertTrue(first.claim("reconcile", 60.0, 0.0).won)
        self.assertFalse(second.claim("reconcile", 60.0, 0.0).won, "the same tick twice: a doubled tick")
        self.assertTrue(second.claim("reconcile", 120.0, 60.0).won)
        self.assertFalse(first.claim("reconcile", 120.0, 60.0).won)
        row = PeriodicClaim.objects.get(name="reconcile")
        self.assertEqual((row.last_tick, row.runs, row.skipped), (120.0, 2, 0))

    def test_an_older_tick_never_wins_after_a_newer_one(self) -> None:
        claims = DatabaseClaims()
        self.assertTrue(claims.claim("x", 300.0, 240.0).won)
        self.assertFalse(claims.claim("x", 240.0, 180.0).won, "a late process must not run an old tick again")

    def test_ticks_nobody_ran_are_counted_as_skipped(self) -> None:
        claims = DatabaseClaims()
        self.assertTrue(claims.claim("x", 60.0, 0.0).won)
        # Nobody was alive at 120, 180 and 240: the winner of 300 records three skipped ticks.
        answer = claims.claim("x", 300.0, 240.0)
        self.assertEqual((answer.won, answer.last, answer.skipped), (True, 60.0, 3))
        self.assertEqual(claims.claim("x", 360.0, 300.0).skipped, 3, "the total so far: nothing new skipped")
        self.assertEqual(claims.state("x")["skipped"], 3)  # type: ignore[index]

    def test_the_compare_and_set_refuses_a_row_changed_since_it_was_read(self) -> None:
        claims = DatabaseClaims()
        claims.claim("x", 60.0, 0.0)
        original = PeriodicClaim.objects.filter

        def moved_meanwhile(*args: Any, **kwargs: Any) -> Any:
            # Another process claims tick 120 between this process's read and its UPDATE.
            if "last_tick" in kwargs or (args and "last_tick" in str(args[0])):
                PeriodicClaim.objects.update(last_tick=120.0)
            return original(*args, **kwargs)

        PeriodicClaim.objects.filter = moved_meanwhile  # type: ignore[method-assign]
        try:
            answer = claims.claim("x", 120.0, 60.0)
        finally:
            PeriodicClaim.objects.filter = original  # type: ignore[method-assign]
        self.assertFalse(answer.won, "the row moved to tick 120 after the read: the UPDATE must change nothing")


@override_settings(DUALQUEUE={"RESULT_STORE": "database"})
class DeferredRowTests(TransactionTestCase):
    """A deferred task's row: written at enqueue, waiting for any process, claimed by exactly one."""

    def test_the_row_is_written_at_once_with_its_run_after(self) -> None:
        store = DatabaseResultStore(None)
        later = timezone.now() + datetime.timedelta(hours=1)
        result = _result(tasks.count_run, later)
        store.add(result)  # no flush: a deferred row does not wait for the writer thread
        row = TaskResultRecord.objects.get(result_id=result.id)
        self.assertEqual((row.status, row.run_after), ("READY", later))
        self.assertEqual([r.id for r in store.deferred()], [result.id])
        self.assertEqual(store.deferred()[0].task.run_after, later)

    def test_exactly_one_process_claims_it(self) -> None:
        here, there = DatabaseResultStore(None), DatabaseResultStore(None)
        result = _result(tasks.count_run, timezone.now())
        here.add(result)
        self.assertTrue(here.claim(result))
        self.assertFalse(there.claim(result), "a second claim of the same row: the task would run twice")
        self.assertEqual(TaskResultRecord.objects.get(result_id=result.id).status, "RUNNING")
        self.assertEqual(here.deferred(), [], "a claimed row is not scheduled again")

    def test_a_waiting_row_of_a_dead_process_is_not_lost(self) -> None:
        store = DatabaseResultStore(None)
        result = _result(tasks.count_run, timezone.now() + datetime.timedelta(hours=1))
        store.add(result)
        TaskResultRecord.objects.filter(result_id=result.id).update(pid=2**22 + 7, process_start="0:0")
        self.assertEqual(store.lost(), [], "a deferred row waits for any process; its own process may be gone")
        self.assertEqual(store.get(result.id).status, TaskResultStatus.READY)
        self.assertEqual(store.deferred()[0].id, result.id)

    def test_one_that_fell_due_runs_once_and_says_how_late(self) -> None:
        store = DatabaseResultStore(None)
        due = timezone.now() - datetime.timedelta(minutes=5)  # fell due while no process ran
        result = _result(tasks.count_run, due)
        store.add(result)
        tasks.RUNS.clear()
        with self.assertLogs("dualqueue.django.results", "WARNING") as logs:
            _TaskRun(DualqueueBackend, store.deferred()[0], store)()
        _TaskRun(DualqueueBackend, _result(tasks.count_run, due), DatabaseResultStore(None))  # built, not run
        _TaskRun(DualqueueBackend, store.get(result.id), DatabaseResultStore(None))()  # a second process: no row
        self.assertTrue(store.flush(10))
        self.assertEqual(tasks.RUNS, ["x"], "ran exactly once")
        self.assertIn("starts 300", logs.output[0])
        again = store.get(result.id)
        self.assertEqual(again.status, TaskResultStatus.SUCCESSFUL)
        self.assertGreaterEqual((again.started_at - again.task.run_after).total_seconds(), 300)


class ProgressTests(TransactionTestCase):
    """Progress is kept with the result, written at most every PROGRESS_INTERVAL, always at the end."""

    def _run(self, store: Any, total: int) -> TaskResult[Any]:
        result = _result(tasks.report_steps)
        object.__setattr__(result, "args", [total])
        store.add(result)
        _TaskRun(DualqueueBackend, result, store)()
        return result

    @override_settings(DUALQUEUE={"RESULT_STORE": "database", "PROGRESS_INTERVAL": 3600})
    def test_writes_are_rate_limited_and_the_last_report_is_written(self) -> None:
        saved: list[Any] = []
        store = DatabaseResultStore(None)
        original = store.set_progress
        store.set_progress = lambda result, *p: (saved.append(p), original(result, *p))  # type: ignore[method-assign]
        result = self._run(store, 50)
        self.assertTrue(store.flush(10))
        # 51 reports in well under an hour: the first one, and the last one with the end of the task.
        self.assertEqual(saved, [(0.0, 50.0, "step 0 of 50"), (50.0, 50.0, "step 50 of 50")])
        row = TaskResultRecord.objects.get(result_id=result.id)
        progress = (row.progress_current, row.progress_total, row.progress_message)
        self.assertEqual(progress, (50.0, 50.0, "step 50 of 50"))
        self.assertEqual(store.progress(result.id)["fraction"], 1.0)  # type: ignore[index]
        self.assertEqual(DatabaseResultStore(None).progress(result.id)["message"], "step 50 of 50")  # type: ignore[index]

    @override_settings(DUALQUEUE={"RESULT_STORE": "memory", "PROGRESS_INTERVAL": 0})
    def test_interval_zero_writes_every_report(self) -> None:
        store = MemoryResultStore(None)
        saved: list[Any] = []
        original = store.set_progress
        store.set_progress = lambda result, *p: (saved.append(p), original(result, *p))  # type: ignore[method-assign]
        self._run(store, 4)
        self.assertEqual([p[0] for p in saved], [0.0, 1.0, 2.0, 3.0, 4.0])

    def test_outside_a_task_nothing_is_recorded(self) -> None:
        from dualqueue.django import report_progress

        self.assertFalse(report_progress(1, 2, "inline"))
        with self.assertRaises((ValueError, TypeError)):
            report_progress(-1, 2)


TICK = {"task": "tests.django.tasks.count_run", "every": 60, "args": ["tick"]}


@override_settings(DUALQUEUE={"RESULT_STORE": "database", "PERIODIC": {"tick": TICK}})
class PeriodicStatusTests(TransactionTestCase):
    def test_the_status_json_shows_each_schedule_with_its_claims(self) -> None:
        DatabaseClaims().claim("tick", 120.0, 60.0)
        from dualqueue.django.views import periodic_state

        (entry,) = periodic_state({"periodic": {}})
        shown = (entry["name"], entry["task"], entry["runs"], entry["skipped"])
        self.assertEqual(shown, ("tick", "tests.django.tasks.count_run", 1, 0))
        self.assertEqual(entry["last_pid"], __import__("os").getpid())

    def test_a_tick_enqueues_the_django_task_with_its_arguments(self) -> None:
        tasks.RUNS.clear()
        registry._enqueue_tick("tick")
        self.assertTrue(registry.join(10))
        self.assertEqual(tasks.RUNS, ["tick"])
        self.assertTrue(registry.result_store("default").flush(10))
        self.assertEqual(TaskResultRecord.objects.filter(task_path="tests.django.tasks.count_run").count(), 1)


@override_settings(DUALQUEUE={"RESULT_STORE": "database", "PERIODIC": {"tick": TICK}})
class TimeSectionPageTests(TransactionTestCase):
    """The status page's "Later, every, how far along" section, its fragment, and the metrics."""

    def setUp(self) -> None:
        from django.contrib.auth import get_user_model

        self.staff = get_user_model().objects.create_user("staff", "s@example.com", "pw", is_staff=True)

    def test_the_page_shows_deferred_rows_and_each_schedule_with_its_skipped_ticks(self) -> None:
        from django.urls import reverse

        claims = DatabaseClaims()
        claims.claim("tick", 60.0, 0.0)
        claims.claim("tick", 300.0, 240.0)  # 120, 180 and 240 were run by nobody
        store = registry.result_store("default")
        store.add(_result(tasks.count_run, timezone.now() + datetime.timedelta(hours=2)))
        self.client.force_login(self.staff)
        for url in (reverse("dualqueue:status-page"), reverse("dualqueue:time")):
            page = self.client.get(url).content.decode()
            self.assertIn('data-periodic="tick"', page)
            self.assertIn('<td class="bad">3</td>', page, "three skipped ticks, shown as a problem")
            self.assertIn("backend default (database rows)</td><td>1</td>", page)
        data = self.client.get(reverse("dualqueue:status")).json()
        (entry,) = data["periodic_schedules"]
        self.assertEqual((entry["runs"], entry["skipped"]), (2, 3))
        self.assertEqual(data["results"]["backends"]["default"]["deferred"], 1)
        registry.reset()  # the status views started a system, which scheduled the row: drop it (2 h away)

    def test_the_fragment_is_refused_to_anonymous_visitors(self) -> None:
        from django.urls import reverse

        response = self.client.get(reverse("dualqueue:time"))
        self.assertEqual(response.status_code, 302)  # to the login page, as the page itself
        self.assertNotIn(b"tick", response.content)

    def test_metrics_have_scheduled_progress_and_periodic_families(self) -> None:
        from dualqueue.django import metrics

        picture = {
            "pid": 7,
            "pools": {"general": {"workers": 2, "alive_workers": 2, "queued": 0, "running": 1, "submitted": 3,
                                  "succeeded": 1, "failed": 0, "dropped": 0, "rejected": 0, "retried": 0,
                                  "oldest_queued_seconds": None, "dead_letters": [], "scheduled": 1,
                                  "running_tasks": [{"name": "t", "running_seconds": 1.0, "progress": {
                                      "current": 1, "total": 4, "fraction": 0.25, "message": "m",
                                      "age_seconds": 0.1}}]}},
            "debouncers": {},
            "periodic": {"tick": {"ran_here": 2, "ran_elsewhere": 5, "skipped": 3, "unclaimed": 0}},
            "results": {"backends": {}},
        }  # fmt: skip
        text = metrics.render_plain(picture)
        self.assertIn('dualqueue_pool_scheduled{pid="7",pool="general"} 1.0', text)
        self.assertIn('dualqueue_task_progress_ratio{pid="7",pool="general",slot="0",task="t"} 0.25', text)
        self.assertIn('dualqueue_periodic_ran_elsewhere_total{pid="7",schedule="tick"} 5.0', text)
        self.assertIn('dualqueue_periodic_skipped_total{pid="7",schedule="tick"} 3.0', text)


@override_settings(DUALQUEUE={"RESULT_STORE": "database", "RESULTS_KEPT": 2})
class DeferredRowsAreNotTrimmedTests(TransactionTestCase):
    def test_a_waiting_deferred_row_survives_the_results_bound(self) -> None:
        store = DatabaseResultStore(2)
        waiting = _result(tasks.count_run, timezone.now() + datetime.timedelta(days=7))
        store.add(waiting)
        for _ in range(5):
            finished = {"status": TaskResultStatus.SUCCESSFUL, "finished_at": timezone.now()}
            store.save(dataclasses.replace(_result(tasks.noop), **finished))  # history: may be trimmed
        self.assertTrue(store.flush(10))
        self.assertTrue(TaskResultRecord.objects.filter(result_id=waiting.id).exists(), "trimmed: it would never run")
        self.assertEqual(TaskResultRecord.objects.count(), 3)  # the two newest results, and the waiting row


def _doubled_ticks(first: Any, second: Any, ticks: int = 20) -> list[float]:
    """Two processes with their own claims objects race for every tick: the ticks both of them won."""
    doubled = []
    for n in range(1, ticks + 1):
        tick, previous = 60.0 * n, 60.0 * (n - 1)
        order = (first, second) if n % 2 else (second, first)  # either may come first
        won = [claims.claim("race", tick, previous).won for claims in order]
        if all(won):
            doubled.append(tick)
        if not any(won):
            raise AssertionError(f"tick {tick} was lost: neither process ran it")
    return doubled


class ClaimsPropertyCatchesBrokenVariantsTests(TransactionTestCase):
    """The property "no tick is run twice across processes" holds for DatabaseClaims and fails for broken stores."""

    def test_database_claims_never_double_a_tick(self) -> None:
        self.assertEqual(_doubled_ticks(DatabaseClaims(), DatabaseClaims()), [])

    def test_a_timer_per_process_is_caught(self) -> None:
        from dualqueue import LocalClaims

        # Each process with claims of its own (the in-memory default): every tick runs twice.
        self.assertEqual(len(_doubled_ticks(LocalClaims(), LocalClaims())), 20)

    def test_an_update_without_its_condition_is_caught(self) -> None:
        class Unconditional(DatabaseClaims):
            """Reads the row, then writes the tick whatever the row says now: check-then-act, no compare-and-set."""

            def claim(self, name: str, tick: float, previous: float | None) -> Any:
                from dualqueue import Claim

                PeriodicClaim.objects.bulk_create([PeriodicClaim(name=name)], ignore_conflicts=True)
                last = PeriodicClaim.objects.get(name=name).last_tick
                # Both processes read before either writes (the interleaving a race produces).
                PeriodicClaim.objects.filter(name=name).update(last_tick=tick)
                return Claim(last is None or last < tick or last == tick, last, 0)

        self.assertGreater(len(_doubled_ticks(Unconditional(), Unconditional())), 0)


class IsTaskTests(TransactionTestCase):
    """A PERIODIC task may belong to either framework: on Django 6, the backport's too."""

    def test_tasks_of_either_framework_are_tasks_and_nothing_else_is(self) -> None:
        from dualqueue.django.compat import is_task

        self.assertTrue(is_task(tasks.count_run))
        self.assertFalse(is_task(tasks.gate))  # a plain function
        self.assertFalse(is_task(tasks.count_run.func))
        try:
            from django_tasks.base import Task as BackportTask
        except ImportError:  # Django 6 without the backport: nothing more to see
            return
        # What @task() makes under a backend built on the backport (django-tasks-rq on
        # Django 6.1), made here without a backend: only its type is read.
        self.assertTrue(is_task(BackportTask.__new__(BackportTask)))


class PeriodicCheckTests(TransactionTestCase):
    """dualqueue.E003: a PERIODIC entry whose task does not import, is not a task, or whose cron is wrong."""

    def errors(self, periodic: dict[str, Any]) -> list[str]:
        from dualqueue.django.checks import check_dualqueue

        with override_settings(DUALQUEUE={"PERIODIC": periodic}):
            return [m.msg for m in check_dualqueue() if m.id == "dualqueue.E003"]

    def test_bad_entries_are_errors_naming_the_key(self) -> None:
        (missing,) = self.errors({"a": {"task": "tests.django.tasks.no_such_task", "every": 60}})
        self.assertIn("DUALQUEUE[\"PERIODIC\"]['a']", missing)
        self.assertIn("cannot import", missing)
        (plain,) = self.errors({"b": {"task": "tests.django.tasks.gate", "every": 60}})
        self.assertIn("is not a task", plain)
        (cron,) = self.errors({"c": {"task": "tests.django.tasks.count_run", "cron": "61 * * * *"}})
        self.assertIn("DUALQUEUE[\"PERIODIC\"]['c']", cron)

    def test_good_entries_pass(self) -> None:
        entries = {"d": {"task": "tests.django.tasks.count_run", "every": 60, "args": ["x"]},
                   "e": {"task": "tests.django.tasks.count_run", "cron": "*/5 * * * *", "args": ["y"]}}  # fmt: skip
        self.assertEqual(self.errors(entries), [])
