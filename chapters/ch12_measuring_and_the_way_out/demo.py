"""Chapter 12 demo: what submit costs, how long light tasks wait under heavy work, and
the way out, measured now.

    python -m chapters.ch12_measuring_and_the_way_out.demo

Every number is measured on this run, on this machine, and shown next to a
baseline from the same run: read the ratios, not the absolute times. The way-out
step runs chapter 10's tasks on ``django_tasks_db`` in a process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .latency import LightLatency, light_latency_under_load
from .submit_cost import BASELINE, measure_submit_cost

ROOT = Path(__file__).resolve().parents[2]

# (label, keyword arguments): the scenarios of the latency table, the baseline first.
SCENARIOS: list[tuple[str, dict[str, Any]]] = [
    ("two pools (2 + 10), heavy waiting", {"shared": False}),
    ("shared pool (12), heavy waiting", {"shared": True}),
    ("two pools, heavy CPU-bound", {"shared": False, "cpu": True, "heavy": 10}),
    (
        "two pools, CPU-bound, switch 0.5ms",
        {"shared": False, "cpu": True, "heavy": 10, "remedy": "switchinterval"},
    ),
    (
        "two pools, CPU step in 2 processes",
        {"shared": False, "cpu": True, "heavy": 10, "remedy": "processes"},
    ),
]
LIGHT_TASKS = 15  # light_latency_under_load's default: the demo's sample size per row
QUICK = {
    "heavy_seconds": 0.05,
    "light": 4,
    "interval": 0.005,
}  # the tests' size: shapes, not numbers


def run_way_out() -> dict[str, Any]:
    """Chapter 10's tasks on the database backend, in a process of its own (it
    configures Django)."""
    out = subprocess.run(
        [sys.executable, "-m", "chapters.ch12_measuring_and_the_way_out.way_out"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the way-out run failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def main(print: Callable[..., None] = print, quick: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    n, rounds = (1_000, 1) if quick else (10_000, 3)
    print(
        f"What submit costs the request: ns per submit, median of {rounds} round(s)"
        f" of {n:,},\nratio to {BASELINE} in this run"
    )
    results["submit"] = costs = measure_submit_cost(n=n, rounds=rounds)
    for name, cost in costs.items():
        print(f"  {name:28} {cost['ns']:8,.0f} ns  {cost['ratio']:5.1f}x")

    light = (QUICK if quick else {}).get("light", LIGHT_TASKS)
    print(
        "\nLight tasks' wait from submit to start while heavy work saturates the"
        f" process,\nin ms, {light} light tasks per row: too few for a p99 (at fewer"
        " than 100\nsamples the p99 is the max), so the max is shown"
    )
    print(
        f"  {'':34} {'p50':>8} {'p90':>8} {'max':>8}  {'ran':>5}  {'loaded':>6}"
        f"  {'vs row 1':>8}"
    )
    results["latency"] = runs = []
    baseline: LightLatency | None = None
    for label, scenario in SCENARIOS:
        run = light_latency_under_load(**scenario, **(QUICK if quick else {}))
        runs.append({"label": label, **asdict(run)})
        baseline = baseline or run
        ratio = run.latency.p50_ms / baseline.latency.p50_ms
        print(
            f"  {label:34} {run.latency.p50_ms:8.2f} {run.latency.p90_ms:8.2f}"
            f" {run.latency.max_ms:8.2f}"
            f"  {run.light_ran:>2}/{run.light_submitted:<2}"
            f"  {run.under_load:>3}/{run.light_submitted:<2}"
            f"  {ratio:>7,.0f}x"
        )

    print(
        "\nThe way out: chapter 10's tasks, unchanged, on django_tasks_db"
        "\n(only TASKS and INSTALLED_APPS changed)"
    )
    results["way_out"] = way_out = run_way_out()
    print(f"  backend: {way_out['backend']}")
    print("  in the table before the worker:")
    for task, state in way_out["waiting_before_the_worker"].items():
        print(f"    {task}: {state}")
    print("  after db_worker --batch:")
    for task, state in way_out["after_the_worker"].items():
        print(f"    {task}: {state}")
    print(f"  emails {way_out['emails']}, site risk {way_out['site_risk']!r}")
    return results


if __name__ == "__main__":
    main()
