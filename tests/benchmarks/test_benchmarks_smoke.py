"""Every benchmark family runs, with tiny sizes, and its results keep the invariants that are not noise.

No assertion here is about time: the machine is shared and timings are noisy.
What is checked is what cannot be noise: every row is present and measured
(or skipped with a reason), every light task started, every task ran exactly
once, a burst of triggers gives exactly one run with every item in order,
memory figures (``tracemalloc`` counts bytes exactly), and that the targets,
tables and plots are built from the results they are given.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from dualqueue import FakeClock

from benchmarks import __main__ as cli
from benchmarks import debounce, enqueue, latency, memory, report, scaling, throughput
from benchmarks.latency import Load, Stream
from benchmarks.measure import latency_summary, percentile

ROOT = Path(__file__).resolve().parents[2]

TINY_LATENCY = {
    "none": (Load("none", 0, 0.0), Stream(5, 0.001)),
    "waiting": (Load("waiting", 14, 0.05), Stream(8, 0.001)),
    "cpu": (Load("cpu", 14, 0.03), Stream(4, 0.001)),
}
TINY_SCALING = {"producers": (1, 3), "tasks": 300, "lights_each": 2, "repeats": 1,
                "backlogs": (10, 200), "probe": 50, "backlog_lights": 2}


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    """One tiny run of every family, shared by the checks below (brokers and Django: see their own tests)."""
    from benchmarks.measure import machine

    out: dict[str, Any] = {"machine": machine(), "command": "pytest", "seconds": 0.0, "quick": True}
    out["enqueue"] = enqueue.run(sizes={"in_process": (300, 2), "broker": (10, 1)}, django=False, brokers=False)
    out["latency"] = latency.run(sizes=TINY_LATENCY, processes=1)
    out["throughput"] = throughput.run(size=(300, 1))
    # Tests never wait through a real debounce window: the bursts run on a FakeClock.
    out["debounce"] = debounce.summarize([debounce.burst(500, 0.2, clock=FakeClock()) for _ in range(2)], 500, 0.2)
    out["memory"] = memory.run(size=(300, 1))
    out["scaling"] = scaling.run(size=TINY_SCALING)
    out["targets"] = report.targets(out)
    return out


def test_percentiles_are_samples_by_nearest_rank() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50
    assert percentile(samples, 99) == 99
    assert percentile([7.0], 99) == 7.0
    summary = latency_summary([1_000_000, 2_000_000, 3_000_000])
    assert (summary["p50_ms"], summary["max_ms"], summary["n"]) == (2.0, 3.0, 3)


def test_enqueue_measures_every_in_process_row_and_says_why_brokers_were_skipped(results: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in results["enqueue"]["rows"]}
    for name in ("queue.Queue.put (floor)", "WorkerPool.submit", "TaskSystem.submit", "ThreadPoolExecutor.submit",
                 "Huey MemoryHuey enqueue"):
        assert rows[name]["ns"] > 0 and len(rows[name]["runs_ns"]) == 2, name
    assert rows["queue.Queue.put (floor)"]["x_floor"] == 1.0
    for name in ("RQ enqueue (Redis)", "Celery delay (Redis)"):
        assert rows[name]["skipped"] == "brokers not requested"
    assert "with lock: pass" in results["enqueue"]["breakdown"]


def test_a_missing_redis_server_is_a_clear_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enqueue.shutil, "which", lambda name: None)
    with enqueue.redis_server() as server:
        assert "no redis-server binary" in server["skipped"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server binary on this machine")
def test_rq_and_celery_are_measured_against_a_throwaway_redis() -> None:
    with enqueue.redis_server() as server:
        assert "url" in server, server
        for factory in (enqueue.rq_enqueue, enqueue.celery_delay):
            with factory(server["url"]) as timed:
                assert enqueue.per_op_ns(timed.loop, 5, 1, before=timed.before, after=timed.after)["ns"] > 0


def test_django_rows_are_measured_in_a_child_process() -> None:
    rows = {r["name"]: r for r in enqueue._django_rows(200, 1, 5, 1)}
    assert [name for name, _ in enqueue.DJANGO_ROWS] == list(rows), rows
    for name in rows:
        if name == "django-tasks-local ThreadPoolBackend" and "skipped" in rows[name]:
            assert "Django 6" in rows[name]["skipped"], rows[name]  # the only reason it may not run
            continue
        assert rows[name].get("ns", 0) > 0, rows[name]
    for store in ("memory", "database"):
        assert rows[f"Django Tasks -> DualqueueBackend ({store} store)"]["profile"], "one enqueue's profile is reported"


def test_every_light_task_starts_and_every_configuration_is_reported(results: dict[str, Any]) -> None:
    rows = results["latency"]["rows"]
    kinds = [(r["load"]["kind"], r["name"]) for r in rows]
    assert ("waiting", "two pools (2 + 10)") in kinds and ("waiting", "one shared pool (12)") in kinds
    assert ("waiting", "Huey, 12 threads, light at higher priority") in kinds
    assert sum(1 for kind, _ in kinds if kind == "cpu") == 5, "two pools, shared, two switch intervals, processes"
    for r in rows:
        assert 1 <= r["n"] <= r["lights"]
        assert r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
        if r["load"]["kind"] == "waiting":
            # Heavy work stops only after every light task has started, so a sleeping load covers the stream.
            assert r["submitted_under_load"] == r["lights"], r


def test_throughput_runs_every_task_exactly_once(results: dict[str, Any]) -> None:
    rows = results["throughput"]["rows"]
    assert len(rows) == len(throughput.ROWS) * len(throughput.WORKLOADS)
    for r in rows:
        assert r["ran"] == [300], r


def test_a_burst_gives_one_run_with_every_item_in_order() -> None:
    outcome = debounce.burst(2_000, 0.2, clock=FakeClock())
    assert outcome["runs"] == outcome["snapshot_runs"] == 1
    assert outcome["delivered"] == 2_000 and outcome["in_order"]
    assert outcome["late_ms"] == 0.0, "a fake clock runs the window exactly at its due time"
    assert outcome["timers_armed"] == 1, "a trigger moves the due time; it does not arm a timer"


def test_a_queued_pool_task_is_smaller_than_a_queued_future(results: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in results["memory"]["rows"]}
    assert set(rows) == set(memory.ROWS)
    assert 0 < rows["WorkerPool"]["bytes_per_task"] < rows["ThreadPoolExecutor"]["bytes_per_task"]


def test_scaling_covers_every_point(results: dict[str, Any]) -> None:
    sc = results["scaling"]
    assert [p["producers"] for p in sc["producers"]] == [1, 3]
    assert [b["backlog"] for b in sc["backlogs"]] == [10, 200]
    for p in sc["producers"]:
        assert p["light_latency"]["n"] == 2 * p["producers"]
    for b in sc["backlogs"]:
        assert b["two_pools_light"]["n"] == 2 and b["shared_pool_light_ms"] > 0


def test_targets_judge_the_results_they_are_given(results: dict[str, Any]) -> None:
    checked = {t["target"]: t for t in results["targets"]}
    assert len(checked) == 10
    assert {t["status"] for t in checked.values()} <= {"PASS", "MISS", "SKIP"}
    brokers = "TaskSystem.submit at least 100x cheaper than any broker-backed enqueue measured"
    assert checked[brokers]["status"] == "SKIP", "no broker was measured in this run"
    assert checked["exactly one debounce run per burst (every item delivered, in order)"]["status"] == "PASS"
    # A made-up slow submit must be a MISS with a diagnosis, not a PASS.
    slow = json.loads(json.dumps(results))
    floor = next(r for r in slow["enqueue"]["rows"] if r["name"] == "queue.Queue.put (floor)")
    next(r for r in slow["enqueue"]["rows"] if r["name"] == "TaskSystem.submit")["ns"] = floor["ns"] * 3
    miss = next(t for t in report.targets(slow) if t["target"] == "TaskSystem.submit within 2x of queue.Queue.put")
    assert miss["status"] == "MISS" and "with lock: pass" in miss["diagnosis"]


def test_the_django_targets_pass_miss_or_skip_on_the_rows_they_are_given() -> None:
    def rows(memory: float, database: float, local: float, db: float) -> dict[str, Any]:
        names = [name for name, _ in enqueue.DJANGO_ROWS]
        figures = dict(zip(names, [memory, database, 50_000.0, local, db], strict=True))
        return {"enqueue": {"rows": [{"name": n, "ns": ns} for n, ns in figures.items()]}}

    cheapest = "DualqueueBackend (memory store): the cheapest background enqueue through Django Tasks"
    near_db = "DualqueueBackend (database store) within 2x of django-tasks-db's enqueue"

    def judged(results: dict[str, Any]) -> dict[str, str]:
        return {t["target"]: t["status"] for t in report._django_targets(results)}

    assert judged(rows(10_000, 30_000, 18_000, 250_000)) == {cheapest: "PASS", near_db: "PASS"}
    assert judged(rows(20_000, 600_000, 18_000, 250_000)) == {cheapest: "MISS", near_db: "MISS"}
    assert judged({"enqueue": {"rows": []}}) == {cheapest: "SKIP", near_db: "SKIP"}


def test_markdown_and_plots_come_from_the_results(results: dict[str, Any], tmp_path: Path) -> None:
    section = report.markdown(results)
    for heading in ("### Targets", "### Enqueue cost per task", "### Light-task latency under heavy load",
                    "### Throughput through two workers", "### Debounce", "### Memory per queued task", "### Scaling"):
        assert heading in section
    page = f"before\n{report.MARK_START}\nold\n{report.MARK_END}\nafter\n"
    replaced = report.replace_section(page, section)
    assert "old" not in replaced and replaced.startswith("before\n") and replaced.endswith("after\n")
    written = report.plots(results, tmp_path)
    assert sorted(p.name for p in written) == ["enqueue.png", "latency.png", "scaling.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_the_command_line_writes_to_the_directory_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(memory.SIZES, "quick", (100, 1))
    page_before = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert cli.main(["--quick", "--only", "memory", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert set(written) >= {"machine", "memory", "targets"} and "enqueue" not in written
    assert (tmp_path / "benchmarks.md").exists()
    assert (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8") == page_before, "docs are left alone"


def test_the_committed_page_shows_the_committed_results() -> None:
    committed = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text(encoding="utf-8"))
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert not committed["quick"], "the committed results are a full run"
    assert report.replace_section(page, report.markdown(committed)) == page, (
        "docs/benchmarks.md is not the rendering of benchmarks/results/latest.json: run `make bench`"
    )
    for name in ("enqueue.png", "latency.png", "scaling.png"):
        assert (ROOT / "docs" / "benchmarks" / name).exists()
