"""Run the benchmarks: ``python -m benchmarks`` (full) or ``python -m benchmarks
--quick``.

Every family runs in this one process, one after the other, so each ratio
compares numbers measured minutes apart on the same machine. The full run
writes ``benchmarks/results/latest.json``, the plots under ``docs/benchmarks/``
and the generated section of ``docs/benchmarks.md``. ``--quick`` (smaller
sizes, under a minute), ``--only`` and ``--out`` write to a directory of their
own (a temporary one unless ``--out`` names it) and leave the docs alone.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import debounce, enqueue, latency, memory, report, scaling, throughput
from .measure import machine

ROOT = Path(__file__).resolve().parent.parent
FAMILIES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "enqueue": enqueue.run,
    "latency": latency.run,
    "throughput": throughput.run,
    "debounce": debounce.run,
    "memory": memory.run,
    "scaling": scaling.run,
}


def _under_load(row: dict[str, Any]) -> str:
    if not row["load"]["tasks"]:
        return f"({row['n']} samples, no heavy load)"
    return (
        f"({row['n']}/{row['lights']} submitted under load; stream took "
        f"{row['stream_seconds']:.2f} s "
        f"for {row['stream_nominal_seconds']:.2f} s nominal)"
    )


def _print_family(name: str, result: dict[str, Any]) -> None:
    if name == "enqueue":
        for r in result["rows"]:
            if "ns" in r:
                print(
                    f"  {r['name']:<36} {r['us']:>10.3f} us  {r['x_floor']:>9.2f}x "
                    "queue.Queue.put"
                )
            else:
                print(f"  {r['name']:<36} SKIPPED: {r['skipped']}")
    elif name == "latency":
        for r in result["rows"]:
            print(
                f"  {r['load']['kind']:<8} {r['name']:<52} "
                f"p50 {r['p50_ms']:>10.3f} ms  "
                f"p99 {r['p99_ms']:>10.3f} ms"
                f"  max {r['max_ms']:>10.3f} ms  " + _under_load(r)
            )
    elif name == "throughput":
        for r in result["rows"]:
            print(
                f"  {r['workload']:<20} {r['name']:<34} "
                f"{r['tasks_per_s']:>9,} tasks/s  "
                f"{r['x_executor']:.2f}x TPE"
            )
    elif name == "debounce":
        print(
            f"  {result['triggers_per_burst']} triggers, "
            f"window {result['window_s']} s: "
            f"{result['ns_per_trigger_median']:.0f} ns per trigger, runs per burst "
            f"{result['runs_per_burst']}, "
            f"{result['timers_armed_max']} timers armed at most, "
            f"late by {result['late_ms_median']:.2f} ms (max "
            f"{result['late_ms_max']:.2f} ms)"
        )
    elif name == "memory":
        for r in result["rows"]:
            print(
                f"  {r['name']:<42} {r['bytes_per_task']:>8.0f} bytes per queued task  "
                f"{r['x_executor']:.2f}x TPE"
            )
    elif name == "scaling":
        for p in result["producers"]:
            print(
                f"  {p['producers']:>2} producers: WorkerPool.submit "
                f"{p['WorkerPool.submit']:>7.0f} ns "
                f"({p['x_floor']:.2f}x floor), light p99 "
                f"{p['light_latency']['p99_ms']:.3f} ms"
            )
        for b in result["backlogs"]:
            print(
                f"  backlog {b['backlog']:>7,}: WorkerPool.submit "
                f"{b['WorkerPool.submit']:>7.0f} ns "
                f"({b['x_floor']:.2f}x floor), two pools light p99 "
                f"{b['two_pools_light']['p99_ms']:.3f} ms, "
                f"shared pool light {b['shared_pool_light_ms']:.3f} ms"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, under a minute; writes to a temp dir",
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated families: {','.join(FAMILIES)}"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for latest.json, the plots and the markdown section",
    )
    parser.add_argument(
        "--json", type=Path, help="also write the results JSON here ('-' for stdout)"
    )
    options = parser.parse_args(argv)

    only = [f.strip() for f in options.only.split(",") if f.strip()] or list(FAMILIES)
    unknown = sorted(set(only) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    full_run = not options.quick and not options.out and len(only) == len(FAMILIES)
    out = options.out or (
        ROOT / "benchmarks" / "results"
        if full_run
        else Path(tempfile.mkdtemp(prefix="dualqueue-bench-"))
    )

    results: dict[str, Any] = {
        "machine": machine(),
        "quick": options.quick,
        "command": (
            "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
        ).rstrip(),
    }
    print(
        f"dualqueue benchmarks ({'quick' if options.quick else 'full'}): "
        f"{', '.join(only)}"
    )
    m = results["machine"]
    print(
        f"machine: {m['cpu']}, {m['cpus']} cores, {m['implementation']} {m['python']}, "
        f"{m['date']}"
    )
    print(
        "absolute times are this machine's; compare the ratios (baselines measured in "
        "this same run)\n"
    )
    started = time.perf_counter()
    for name in only:
        t0 = time.perf_counter()
        print(f"[{name}]", flush=True)
        results[name] = FAMILIES[name](options.quick)
        results[name]["seconds"] = round(time.perf_counter() - t0, 1)
        _print_family(name, results[name])
        print(f"  ({results[name]['seconds']} s)\n", flush=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["targets"] = report.targets(results)

    print("targets:")
    for line in report.target_lines(results["targets"]):
        print("  " + line)

    out.mkdir(parents=True, exist_ok=True)
    json_text = json.dumps(results, indent=2) + "\n"
    (out / "latest.json").write_text(json_text, encoding="utf-8")
    if options.json is not None:
        if str(options.json) == "-":
            sys.stdout.write(json_text)
        else:
            options.json.write_text(json_text, encoding="utf-8")
    results = json.loads(
        json_text
    )  # render what was written, so the page and the JSON cannot disagree
    if full_run:
        images = ROOT / "docs" / "benchmarks"
        report.plots(results, images)
        page = ROOT / "docs" / "benchmarks.md"
        page.write_text(
            report.replace_section(
                page.read_text(encoding="utf-8"), report.markdown(results)
            ),
            encoding="utf-8",
        )
        print(f"\nwrote {out / 'latest.json'}, {page} and the plots in {images}")
    else:
        report.plots(results, out)
        (out / "benchmarks.md").write_text(
            report.markdown(results, images="."), encoding="utf-8"
        )
        print(
            f"\nwrote {out / 'latest.json'}, {out / 'benchmarks.md'} and the plots in "
            f"{out}"
        )
    print(f"total {results['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
