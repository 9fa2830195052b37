"""Chapter 12: the measurement functions return well-formed results, and the way-out
settings work.

No timing assertion here: a shared CI machine makes any latency claim false
some of the time. What is checked cannot be noise: every light task ran, the
counts are the workload's, percentiles are ordered, a ratio is a ratio to the
baseline of the same run, CPU-bound load covers the whole light stream by
construction. The way out is checked by running chapter 10's tasks on the
database backend, unchanged, in a process of its own.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from chapters.ch10_django import settings as chapter10_settings
from chapters.ch12_measuring_and_the_way_out import demo, way_out
from chapters.ch12_measuring_and_the_way_out.latency import light_latency_under_load
from chapters.ch12_measuring_and_the_way_out.measure import (
    Latency,
    per_call_ns,
    percentile,
)
from chapters.ch12_measuring_and_the_way_out.submit_cost import (
    BASELINE,
    measure_submit_cost,
)

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"heavy": 4, "heavy_seconds": 0.05, "light": 4, "interval": 0.005}


# -- measure
# ------------------------------------------------------------------------------


def test_percentiles_are_nearest_rank_and_always_a_sample() -> None:
    samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]
    assert [percentile(samples, q) for q in (0, 10, 50, 90, 99, 100)] == [
        1,
        1,
        5,
        9,
        10,
        10,
    ]
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile(samples, 101)


def test_a_latency_summary_is_in_milliseconds_and_ordered() -> None:
    summary = Latency.of_ns([1_000_000, 3_000_000, 2_000_000, 40_000_000])
    assert summary == Latency(n=4, p50_ms=2.0, p90_ms=40.0, p99_ms=40.0, max_ms=40.0)


def test_per_call_cost_runs_setup_and_teardown_around_each_repeat() -> None:
    calls: list[str] = []
    cost = per_call_ns(
        lambda n: calls.append(f"loop {n}"),
        10,
        repeats=2,
        setup=lambda: calls.append("setup"),
        teardown=lambda: calls.append("teardown"),
    )
    assert calls == ["setup", "loop 10", "teardown"] * 2
    assert cost > 0 and math.isfinite(cost)


# -- submit cost
# ----------------------------------------------------------------------------


def test_submit_cost_measures_every_subject_against_the_same_run_baseline() -> None:
    costs = measure_submit_cost(n=500, rounds=1)
    assert list(costs) == [
        BASELINE,
        "WorkerPool.submit",
        "TaskSystem.submit",
        "ThreadPoolExecutor.submit",
    ]
    assert costs[BASELINE]["ratio"] == 1.0
    for name, cost in costs.items():
        assert cost["ns"] > 0 and math.isclose(
            cost["ratio"], cost["ns"] / costs[BASELINE]["ns"]
        ), name
    with pytest.raises(ValueError):
        measure_submit_cost(n=0)


# -- light latency
# ----------------------------------------------------------------------------


def check_light_latency_run(
    label: str, scenario: dict[str, Any], run: dict[str, Any]
) -> None:
    """What one run must satisfy whatever the machine's speed: nothing lost, counted
    once, ordered percentiles."""
    latency = run["latency"]
    assert run["light_ran"] == run["light_submitted"] == latency["n"], (
        f"{label}: a light task lost or counted twice"
    )
    assert run["heavy_ran"] == run["heavy_submitted"], f"{label}: a heavy task was lost"
    assert (
        0
        <= latency["p50_ms"]
        <= latency["p90_ms"]
        <= latency["p99_ms"]
        <= latency["max_ms"]
    ), label
    assert run["arrangement"] == ("shared" if scenario["shared"] else "two pools"), (
        label
    )
    assert run["remedy"] == scenario.get("remedy"), label
    if scenario.get("cpu"):
        # CPU-bound heavy work runs until the whole stream is submitted: every light
        # task is under load.
        assert run["under_load"] == run["light_submitted"], label
    else:
        assert 0 <= run["under_load"] <= run["light_submitted"], label


def test_every_light_task_runs_and_is_measured_once() -> None:
    scenario = {"shared": True}
    run = light_latency_under_load(**scenario, **SMALL)
    assert (run.light_submitted, run.heavy_submitted) == (
        SMALL["light"],
        SMALL["heavy"],
    )
    check_light_latency_run("shared", scenario, asdict(run))


def test_a_remedy_needs_cpu_bound_heavy_work() -> None:
    with pytest.raises(ValueError, match="remedy"):
        light_latency_under_load(shared=False, remedy="processes", **SMALL)
    with pytest.raises(ValueError, match="remedy"):
        light_latency_under_load(shared=False, cpu=True, remedy="faster", **SMALL)


# -- the way out
# ----------------------------------------------------------------------------


def test_the_three_task_settings_name_the_same_queues_and_a_backend_each() -> None:
    for tasks in (way_out.IN_PROCESS, way_out.DATABASE, way_out.RQ):
        assert set(tasks) == {"default"}
        backend = tasks["default"]
        assert set(backend["QUEUES"]) == {"default", "site"}, (
            "a task declared on a queue would be refused"
        )
        module, _, name = backend["BACKEND"].rpartition(".")
        assert module and name[0].isupper()
    assert way_out.IN_PROCESS == chapter10_settings.TASKS, (
        "chapter 10 runs on exactly the in-process setting"
    )
    assert set(way_out.RQ_QUEUES) == set(way_out.RQ["default"]["QUEUES"]), (
        "an RQ queue without a Redis queue"
    )
    assert way_out.DATABASE["default"]["BACKEND"].split(".")[0] in way_out.DATABASE_APPS
    assert way_out.RQ["default"]["BACKEND"].split(".")[0] in way_out.RQ_APPS
    # installed with the wayout extra
    assert importlib.util.find_spec("django_tasks_db") is not None
    # The RQ settings are checked for shape here; tests/e2e/test_way_out_distributed.py
    # runs them on a real Redis.


# --8<-- [start:way-out-test]
def test_chapter_10s_tasks_run_unchanged_on_the_database_backend() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "chapters.ch12_measuring_and_the_way_out.way_out"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout.splitlines()[-1])
    assert run["backend"] == "django_tasks_db.backend.DatabaseBackend"
    assert run["waiting_before_the_worker"] == {
        "analyse_site": ["site", "READY"],
        "send_registration_email": ["default", "READY"],
    }
    assert run["after_the_worker"] == {
        "analyse_site": "SUCCESSFUL",
        "send_registration_email": "SUCCESSFUL",
    }
    assert (
        run["emails"] == ["Your site 'Farm 9' is registered"]
        and run["site_risk"] == "high"
    )
    # --8<-- [end:way-out-test]


# -- the demo
# -------------------------------------------------------------------------------


def test_the_demo_prints_a_row_per_subject_and_scenario(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    way_out_run = {
        "backend": "b",
        "waiting_before_the_worker": {},
        "after_the_worker": {},
        "emails": [],
        "site_risk": "",
    }
    monkeypatch.setattr(
        demo, "run_way_out", lambda: way_out_run
    )  # run for real by the test above
    lines: list[str] = []
    results = demo.main(
        print=lambda *a: lines.append(" ".join(map(str, a))), quick=True
    )
    assert list(results["submit"]) == [
        BASELINE,
        "WorkerPool.submit",
        "TaskSystem.submit",
        "ThreadPoolExecutor.submit",
    ]
    assert [run["label"] for run in results["latency"]] == [
        label for label, _ in demo.SCENARIOS
    ]
    for run, (label, scenario) in zip(results["latency"], demo.SCENARIOS, strict=True):
        check_light_latency_run(
            label, scenario, run
        )  # every scenario, remedies included, run for real
    for label, _ in demo.SCENARIOS:
        assert any(line.strip().startswith(label) for line in lines), (
            f"no row for {label}"
        )
    assert results["way_out"] is way_out_run
