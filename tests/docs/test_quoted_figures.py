"""Figures quoted in the chapters' prose are the benchmark's, with their sample sizes.

Chapters 4, 5 and 12 quote the committed benchmark run (``benchmarks/results/latest.json``,
rendered on the benchmarks page). Each quoted figure is formatted here from that file, the way
the page words it; when a new run changes a number, this test names the sentence to update.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = json.loads((ROOT / "benchmarks/results/latest.json").read_text(encoding="utf-8"))


def row(family: str, name: str, kind: str | None = None) -> dict[str, Any]:
    rows = [r for r in RESULTS[family]["rows"] if r["name"] == name and (kind is None or r["load"]["kind"] == kind)]
    assert len(rows) == 1, f"benchmarks/results/latest.json has {len(rows)} {family} rows named {name!r}"
    return rows[0]


WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.2g} ms" if value < 10 else f"{value:.0f} ms"


def quoted() -> list[tuple[str, str]]:
    two, shared = row("latency", "two pools (2 + 10)", "waiting"), row("latency", "one shared pool (12)", "waiting")
    huey = row("latency", "Huey, 12 threads, light at higher priority", "waiting")
    cpu = {
        "two pools (2 + 10)": "two pools (2 + 10)",
        "two pools + setswitchinterval(0.001)": "the same, `sys.setswitchinterval(0.001)`",
        "two pools + setswitchinterval(0.0002)": "the same, `sys.setswitchinterval(0.0002)`",
        "two pools + CPU step in ProcessPoolExecutor(2)": "the same, the CPU step in a `ProcessPoolExecutor` of 2",
    }
    memory = {r["name"]: r for r in RESULTS["memory"]["rows"]}
    enqueue = {r["name"]: r for r in RESULTS["enqueue"]["rows"]}
    submit = enqueue["WorkerPool.submit"]
    ch04, ch05, ch12 = (
        "chapters/ch04_shared_pool.md",
        "chapters/ch05_two_queues.md",
        "chapters/ch12_measuring_and_the_way_out.md",
    )
    load = two["load"]
    figures = [
        (ch04, f"{load['tasks']} heavy tasks of {load['seconds']} s of waiting, then {two['n']} light tasks"),
        (ch04, f"{shared['p50_ms'] / 1000:.1f} s at the median and {shared['p99_ms'] / 1000:.2f} s at the 99th"),
        (ch04, f"{huey['p50_ms'] / 1000:.2f} s and {huey['p99_ms'] / 1000:.2f} s"),
        (ch04, f"{two['p50_ms']:.2f} ms and {two['p99_ms']:.2f} ms"),
        (ch04, f"by a factor of {WORDS[round(shared['p50_ms'] / huey['p50_ms'])]}"),
        (ch05, f"{memory['WorkerPool']['n']:,} tasks queued"),
        (ch05, f"{memory['WorkerPool']['bytes_per_task']:.0f} bytes in a `WorkerPool`, against"
               f" {memory['ThreadPoolExecutor']['bytes_per_task']:,.0f} in a"),
        (ch12, f"the median of {submit['repeats']}\nrepeats of {submit['n']:,}"),
        (ch12, f"`WorkerPool.submit` cost {enqueue['WorkerPool.submit']['x_floor']:.2f} times"),
        (ch12, f"{enqueue['TaskSystem.submit']['x_floor']:.2f} times"),
        (ch12, f"`ThreadPoolExecutor.submit` {enqueue['ThreadPoolExecutor.submit']['x_floor']:.2f} times"),
        (ch12, f"| two pools (2 + 10) | {two['n']} | {two['p50_ms']:.2f} ms | {two['p99_ms']:.2f} ms |"),
        (ch12, f"| one shared pool of 12 | {shared['n']} | {shared['p50_ms']:,.0f} ms | {shared['p99_ms']:,.0f} ms |"),
        (ch12, f"about {round(shared['p50_ms'] / two['p50_ms'], -3):,.0f} times longer at the median"),
        (ch12, f"{memory['WorkerPool']['bytes_per_task']:.0f} bytes (the benchmark's memory table,"
               f" {memory['WorkerPool']['n']:,}\n  tasks)"),
    ]
    for name, label in cpu.items():
        r = row("latency", name, "cpu")
        assert r["n"] < 100, "a CPU row with 100 samples or more: quote its p99, not its maximum"
        figures.append((ch12, f"| {label} | {r['n']} | {ms(r['p50_ms'])} | {ms(r['max_ms'])} |"))
    return figures


@pytest.mark.parametrize(("page", "figure"), quoted())
def test_the_page_quotes_the_committed_benchmark_run(page: str, figure: str) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert figure in text, (
        f"docs/{page} should quote {figure!r} from benchmarks/results/latest.json (the benchmarks page's run)"
    )
