"""Targets, tables and plots from one run's results.

Everything here reads the results dictionary the families produced in one
run: no number is typed in by hand. ``targets`` checks the project's stated
targets and says PASS, MISS (with the measured value and a diagnosis) or SKIP
(not measured in this run, and why). ``markdown`` renders the generated section
of ``docs/benchmarks.md``; ``plots`` writes the PNGs it shows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "MARK_END",
    "MARK_START",
    "markdown",
    "plots",
    "replace_section",
    "target_lines",
    "targets",
]

MARK_START = (
    "<!-- benchmarks:generated:start"
    " (written by python -m benchmarks; do not edit by hand) -->"
)
MARK_END = "<!-- benchmarks:generated:end -->"

BROKER_ROWS = ("RQ enqueue (Redis)", "Celery delay (Redis)", "django-tasks-db (SQLite)")


def _row(
    results: dict[str, Any], family: str, name: str, **match: Any
) -> dict[str, Any] | None:
    for row in results.get(family, {}).get("rows", []):
        if row["name"] == name and all(
            row.get(k) == v or row.get("load", {}).get(k) == v for k, v in match.items()
        ):
            return row
    return None


def _target(name: str, status: str, value: str, diagnosis: str = "") -> dict[str, str]:
    return {"target": name, "status": status, "value": value, "diagnosis": diagnosis}


def _breakdown_text(results: dict[str, Any]) -> str:
    steps = results.get("enqueue", {}).get("breakdown", {})
    return "; ".join(f"{step} {ns:.0f} ns" for step, ns in steps.items())


def targets(results: dict[str, Any]) -> list[dict[str, str]]:
    """Each target with PASS, MISS or SKIP and the measured value it was judged on."""
    out: list[dict[str, str]] = []
    floor = _row(results, "enqueue", "queue.Queue.put (floor)")
    executor = _row(results, "enqueue", "ThreadPoolExecutor.submit")
    for name in ("TaskSystem.submit", "WorkerPool.submit"):
        row = _row(results, "enqueue", name)
        title = f"{name} within 2x of queue.Queue.put"
        if row is None or floor is None or "ns" not in row or "ns" not in floor:
            out.append(_target(title, "SKIP", "enqueue not measured in this run"))
            continue
        x = row["ns"] / floor["ns"]
        value = f"{x:.2f}x ({row['ns'] / 1000:.2f} us vs {floor['ns'] / 1000:.2f} us)"
        diagnosis = (
            ""
            if x <= 2
            else "where one submit's time goes (steps timed alone): "
            f"{_breakdown_text(results)}"
        )
        out.append(_target(title, "PASS" if x <= 2 else "MISS", value, diagnosis))
    for name in ("TaskSystem.submit", "WorkerPool.submit"):
        row = _row(results, "enqueue", name)
        title = f"{name} at least 3x cheaper than ThreadPoolExecutor.submit"
        if row is None or executor is None or "ns" not in row or "ns" not in executor:
            out.append(_target(title, "SKIP", "enqueue not measured in this run"))
            continue
        x = executor["ns"] / row["ns"]
        value = (
            f"{x:.1f}x cheaper ({row['ns'] / 1000:.2f} us"
            f" vs {executor['ns'] / 1000:.2f} us)"
        )
        diagnosis = (
            ""
            if x >= 3
            else f"where one submit's time goes: {_breakdown_text(results)}"
        )
        out.append(_target(title, "PASS" if x >= 3 else "MISS", value, diagnosis))

    ours = _row(results, "enqueue", "TaskSystem.submit")
    title = (
        "TaskSystem.submit at least 100x cheaper"
        " than any broker-backed enqueue measured"
    )
    brokers = [
        r
        for r in (_row(results, "enqueue", n) for n in BROKER_ROWS)
        if r is not None and "ns" in r
    ]
    missing = [
        n
        for n in BROKER_ROWS
        if (r := _row(results, "enqueue", n)) is None or "ns" not in r
    ]
    if ours is None or "ns" not in ours or not brokers:
        out.append(_target(title, "SKIP", "no broker-backed row measured in this run"))
    else:
        cheapest = min(brokers, key=lambda r: r["ns"])
        x = cheapest["ns"] / ours["ns"]
        value = (
            f"{x:.0f}x cheaper than the cheapest broker, {cheapest['name']}"
            f" ({cheapest['ns'] / 1000:.0f} us)"
        )
        if missing:
            value += f"; not measured: {', '.join(missing)}"
        out.append(_target(title, "PASS" if x >= 100 else "MISS", value))

    out += _django_targets(results)

    two = _row(results, "latency", "two pools (2 + 10)", kind="waiting")
    shared = _row(results, "latency", "one shared pool (12)", kind="waiting")
    title = "light p99 under waiting heavy load <= 10 ms, shared pool's >= 100x worse"
    if two is None or shared is None:
        out.append(_target(title, "SKIP", "latency not measured in this run"))
    else:
        x = shared["p99_ms"] / two["p99_ms"] if two["p99_ms"] else float("inf")
        ok = two["p99_ms"] <= 10 and x >= 100
        value = (
            f"two pools p99 {two['p99_ms']:.3f} ms,"
            f" shared pool p99 {shared['p99_ms']:.1f} ms ({x:.0f}x worse)"
        )
        out.append(_target(title, "PASS" if ok else "MISS", value))

    debounce = results.get("debounce")
    title = "exactly one debounce run per burst (every item delivered, in order)"
    if not debounce:
        out.append(_target(title, "SKIP", "debounce not measured in this run"))
    else:
        ok = debounce["runs_per_burst"] == [1] and debounce["all_delivered_in_order"]
        value = (
            f"runs per burst {debounce['runs_per_burst']} over "
            f"{len(debounce['bursts'])} bursts of "
            f"{debounce['triggers_per_burst']} triggers; "
            f"all delivered in order: {debounce['all_delivered_in_order']}"
        )
        out.append(_target(title, "PASS" if ok else "MISS", value))

    pool = _row(results, "memory", "WorkerPool")
    tpe = _row(results, "memory", "ThreadPoolExecutor")
    title = "memory per queued task no more than half of ThreadPoolExecutor's"
    if pool is None or tpe is None:
        out.append(_target(title, "SKIP", "memory not measured in this run"))
    else:
        x = pool["bytes_per_task"] / tpe["bytes_per_task"]
        ours_b, tpe_b = pool["bytes_per_task"], tpe["bytes_per_task"]
        value = f"{ours_b:.0f} B vs {tpe_b:.0f} B ({x:.2f}x)"
        out.append(_target(title, "PASS" if x <= 0.5 else "MISS", value))
    return out


def target_lines(checked: list[dict[str, str]]) -> list[str]:
    lines = []
    for t in checked:
        lines.append(f"{t['status']:<4}  {t['target']}: {t['value']}")
        if t["diagnosis"]:
            lines.append(f"      diagnosis: {t['diagnosis']}")
    return lines


# -- markdown ------------------------------------------------------------------


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _x(value: float | None, digits: int = 2) -> str:
    """A ratio, never rounded to zero: small ones keep two significant digits."""
    if value is None:
        return ""
    if 0 < abs(value) < 10**-digits * 5:
        return f"{value:.2g}x"
    return f"{value:.{digits}f}x"


# Below this many samples a p99 (nearest rank) is the largest sample: the tables say so
# and show the maximum instead of calling it a p99.
P99_MIN_SAMPLES = 100


def _p99(summary: dict[str, Any]) -> str:
    if summary["n"] < P99_MIN_SAMPLES:
        return f"n/a (n={summary['n']})"
    return f"{summary['p99_ms']:.3f}"


def markdown(results: dict[str, Any], images: str = "benchmarks") -> str:
    """The generated section: machine, targets, one table per family, and the plots."""
    m = results["machine"]
    out = [
        f"Measured {m['date']} on {m['cpu']} ({m['cpus']} cores, shared with other "
        "work; load average at start "
        f"{m['load_average_at_start']}), {m['implementation']} {m['python']} (GIL "
        f"enabled: {m['gil']}), "
        f"{m['platform']}. Run: `{results['command']}`, {results['seconds']:.0f} s. "
        "Absolute times are this "
        "machine's; the ratios are the result.",
        "",
        "### Targets",
        "",
    ]
    out += _table(
        ["", "target", "measured"],
        [
            [
                t["status"],
                t["target"],
                t["value"] + (f" ({t['diagnosis']})" if t["diagnosis"] else ""),
            ]
            for t in results["targets"]
        ],
    )
    if "enqueue" in results:
        e = results["enqueue"]
        out += [
            "### Enqueue cost per task",
            "",
            "![Enqueue cost per task](" + images + "/enqueue.png)",
            "",
        ]
        rows = []
        for r in e["rows"]:
            if "ns" in r:
                rows.append(
                    [
                        r["name"],
                        r["kind"],
                        f"{r['us']:.2f}",
                        _x(r["x_floor"]),
                        f"{r['n']} x {r['repeats']}",
                    ]
                )
            else:
                rows.append([r["name"], r["kind"], "skipped", "", r["skipped"]])
        out += _table(
            [
                "enqueue",
                "kind",
                "us per task (this machine)",
                "x queue.Queue.put",
                "tasks x repeats",
            ],
            rows,
        )
        for r in e["rows"]:
            if r.get("profile"):
                out += [
                    f"Where one `{r['name']}` enqueue goes (cProfile, cumulative share "
                    "of the enqueue; "
                    "indicative, since profiling slows every call):",
                    "",
                ]
                out += _table(
                    ["call", "calls per enqueue", "share"],
                    [
                        [f"`{p['call']}`", p["calls_per_enqueue"], f"{p['share']:.0%}"]
                        for p in r["profile"]
                    ],
                )
        if e.get("breakdown"):
            out += ["Where one `submit` goes (each step timed alone, ns):", ""]
            out += _table(
                ["step", "ns"], [[k, f"{v:.0f}"] for k, v in e["breakdown"].items()]
            )
    if "latency" in results:
        lat = results["latency"]
        out += [
            "### Light-task latency under heavy load",
            "",
            "![Light-task latency](" + images + "/latency.png)",
            "",
        ]
        rows = []
        for r in lat["rows"]:
            load = r["load"]
            described = (
                "none"
                if load["kind"] == "none"
                else f"{load['kind']}: {load['tasks']} x {load['seconds']} s"
            )
            under = (
                f"{r['n']} of {r['lights']}"
                if load["tasks"]
                else f"n/a ({r['n']} samples)"
            )
            rows.append(
                [
                    described,
                    r["name"],
                    f"{r['p50_ms']:.3f}",
                    _p99(r),
                    f"{r['max_ms']:.3f}",
                    _x(r.get("p50_x_two_pools"), 1),
                    under,
                    f"{r['stream_seconds']:.2f} s ({r['stream_nominal_seconds']:.2f} "
                    "s)",
                ]
            )
        out += _table(
            [
                "heavy load",
                "system",
                "p50 ms",
                f"p99 ms (n >= {P99_MIN_SAMPLES})",
                "max ms",
                "p50 x two pools",
                "light tasks submitted under load",
                "time to submit them (on schedule)",
            ],
            rows,
        )
    if "throughput" in results:
        out += ["### Throughput through two workers", ""]
        rows = [
            [
                r["workload"],
                r["name"],
                f"{r['tasks_per_s']:,}",
                f"{r['us_per_task']:.2f}",
                _x(r["x_executor"]),
            ]
            for r in results["throughput"]["rows"]
        ]
        out += _table(
            [
                "workload",
                "pool",
                "tasks/s (this machine)",
                "us per task",
                "x ThreadPoolExecutor",
            ],
            rows,
        )
    if "debounce" in results:
        d = results["debounce"]
        out += ["### Debounce: one burst of triggers", ""]
        out += _table(
            [
                "triggers per burst",
                "window",
                "bursts",
                "ns per trigger (median)",
                "runs per burst",
                "all delivered in order",
                "timers armed per burst (max)",
                "run late by (median / max)",
            ],
            [
                [
                    f"{d['triggers_per_burst']:,}",
                    f"{d['window_s']} s",
                    len(d["bursts"]),
                    f"{d['ns_per_trigger_median']:.0f}",
                    d["runs_per_burst"],
                    d["all_delivered_in_order"],
                    d["timers_armed_max"],
                    f"{d['late_ms_median']:.2f} ms / {d['late_ms_max']:.2f} ms",
                ]
            ],
        )
    if "memory" in results:
        out += ["### Memory per queued task", ""]
        rows = [
            [r["name"], f"{r['bytes_per_task']:.0f}", _x(r["x_executor"]), r["n"]]
            for r in results["memory"]["rows"]
        ]
        out += _table(
            ["queue", "bytes per queued task", "x ThreadPoolExecutor", "tasks queued"],
            rows,
        )
    if "scaling" in results:
        sc = results["scaling"]
        out += ["### Scaling", "", "![Scaling](" + images + "/scaling.png)", ""]
        rows = [
            [
                p["producers"],
                f"{p['WorkerPool.submit']:.0f}",
                f"{p['queue.Queue.put (floor)']:.0f}",
                f"{p['ThreadPoolExecutor.submit']:.0f}",
                _x(p["x_floor"]),
                f"{p['light_latency']['p50_ms']:.3f} / "
                f"{p['light_latency']['max_ms']:.3f} (n={p['light_latency']['n']})",
            ]
            for p in sc["producers"]
        ]
        out += _table(
            [
                "producer threads",
                "WorkerPool.submit ns",
                "queue.Queue.put ns",
                "ThreadPoolExecutor.submit ns",
                "x floor",
                "light latency p50 / max ms (site full)",
            ],
            rows,
        )
        rows = [
            [
                f"{b['backlog']:,}",
                f"{b['WorkerPool.submit']:.0f}",
                f"{b['queue.Queue.put (floor)']:.0f}",
                f"{b['ThreadPoolExecutor.submit']:.0f}",
                f"{b['two_pools_light']['p50_ms']:.3f} / "
                f"{b['two_pools_light']['max_ms']:.3f} (n={b['two_pools_light']['n']})",
                f"{b['shared_pool_light_ms']:.3f}",
            ]
            for b in sc["backlogs"]
        ]
        out += _table(
            [
                "tasks already queued",
                "WorkerPool.submit ns",
                "queue.Queue.put ns",
                "ThreadPoolExecutor.submit ns",
                "two pools: light p50 / max ms",
                "shared pool: light ms",
            ],
            rows,
        )
    return "\n".join(out).rstrip() + "\n"


def replace_section(page: str, section: str) -> str:
    """``page`` with the text between the markers replaced by ``section``."""
    start, end = page.index(MARK_START), page.index(MARK_END)
    return page[: start + len(MARK_START)] + "\n\n" + section + "\n" + page[end:]


# -- plots -----------------------------------------------------------------------


def plots(results: dict[str, Any], directory: Path) -> list[Path]:
    """Write the PNGs the generated section shows; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    machine = results["machine"]
    label = f"{machine['cpu']}, Python {machine['python']}, {machine['date'][:10]}"

    if "enqueue" in results:
        rows = [r for r in results["enqueue"]["rows"] if "ns" in r]
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
        colors = {
            "floor": "#888888",
            "dualqueue": "#1f77b4",
            "in-process": "#2ca02c",
            "broker": "#d62728",
        }
        ax.barh(
            [r["name"] for r in rows],
            [r["us"] for r in rows],
            color=[colors[r["kind"]] for r in rows],
        )
        for i, r in enumerate(rows):
            ax.text(
                r["us"] * 1.1,
                i,
                f"{r['us']:.2f} us ({r['x_floor']:.1f}x)",
                va="center",
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("microseconds per enqueue (log scale; median, this machine)")
        ax.set_title(f"Enqueue cost per task\n{label}", fontsize=10)
        ax.set_xlim(right=max(r["us"] for r in rows) * 20)
        fig.tight_layout()
        written.append(directory / "enqueue.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

    if "latency" in results:
        rows = results["latency"]["rows"]
        names = [f"{r['load']['kind']}: {r['name']}" for r in rows]
        fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5))
        y = range(len(rows))
        ax.barh(
            [i + 0.2 for i in y],
            [max(r["p50_ms"], 1e-3) for r in rows],
            height=0.4,
            label="p50",
        )
        ax.barh(
            [i - 0.2 for i in y],
            [max(r["p99_ms"], 1e-3) for r in rows],
            height=0.4,
            label="p99",
        )
        ax.set_yticks(list(y), names, fontsize=8)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.axvline(10, color="#888888", linestyle=":", linewidth=1)
        ax.set_xlabel(
            "light task submit-to-start latency, ms (log scale; dotted line: 10 ms)"
        )
        ax.set_title(f"Light-task latency under heavy load\n{label}", fontsize=10)
        ax.legend(loc="lower right")
        fig.tight_layout()
        written.append(directory / "latency.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)

    if "scaling" in results:
        sc = results["scaling"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        ps = [p["producers"] for p in sc["producers"]]
        for name in (
            "WorkerPool.submit",
            "queue.Queue.put (floor)",
            "ThreadPoolExecutor.submit",
        ):
            left.plot(
                ps, [p[name] / 1000 for p in sc["producers"]], marker="o", label=name
            )
        left.set_xscale("log", base=2)
        left.set_xticks(ps, [str(p) for p in ps])
        left.set_xlabel("producer threads")
        left.set_ylabel("us per submit (wall, all producers)")
        left.set_title("Submit cost vs producers", fontsize=10)
        left.legend(fontsize=8)
        bs = [b["backlog"] for b in sc["backlogs"]]
        right.plot(
            bs,
            [b["two_pools_light"]["p99_ms"] for b in sc["backlogs"]],
            marker="o",
            label="two pools: light p99 (backlog in site)",
        )
        right.plot(
            bs,
            [b["shared_pool_light_ms"] for b in sc["backlogs"]],
            marker="s",
            label="shared pool: light (backlog ahead)",
        )
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_xlabel("tasks already queued")
        right.set_ylabel("light task submit-to-start, ms")
        right.set_title("Light latency vs backlog", fontsize=10)
        right.legend(fontsize=8)
        fig.suptitle(label, fontsize=9)
        fig.tight_layout()
        written.append(directory / "scaling.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


DJANGO_BACKGROUND_ROWS = (
    "Django Tasks -> DualqueueBackend (memory store)",
    "Django Tasks -> DualqueueBackend (database store)",
    "django-tasks-local ThreadPoolBackend",
    "django-tasks-db (SQLite)",
)


def _django_targets(results: dict[str, Any]) -> list[dict[str, str]]:
    """The Django goals (issue 11): the cheapest background enqueue, and the database
    store near django-tasks-db."""
    out = []
    memory = _row(results, "enqueue", DJANGO_BACKGROUND_ROWS[0])
    others = (_row(results, "enqueue", name) for name in DJANGO_BACKGROUND_ROWS[1:])
    peers = [r for r in others if r is not None and "ns" in r]
    title = (
        "DualqueueBackend (memory store): "
        "the cheapest background enqueue through Django Tasks"
    )
    if memory is None or "ns" not in memory or not peers:
        out.append(
            _target(title, "SKIP", "the Django rows were not measured in this run")
        )
    else:
        cheapest = min(peers, key=lambda r: r["ns"])
        value = (
            f"{memory['ns'] / 1000:.1f} us; "
            f"next: {cheapest['name']} {cheapest['ns'] / 1000:.1f} us "
            f"({cheapest['ns'] / memory['ns']:.1f}x)"
        )
        out.append(
            _target(title, "PASS" if memory["ns"] <= cheapest["ns"] else "MISS", value)
        )
    database = _row(results, "enqueue", DJANGO_BACKGROUND_ROWS[1])
    db = _row(results, "enqueue", "django-tasks-db (SQLite)")
    title = "DualqueueBackend (database store) within 2x of django-tasks-db's enqueue"
    if database is None or db is None or "ns" not in database or "ns" not in db:
        out.append(
            _target(title, "SKIP", "the Django rows were not measured in this run")
        )
    else:
        x = database["ns"] / db["ns"]
        value = (
            f"{x:.2f}x django-tasks-db "
            f"({database['ns'] / 1000:.1f} us vs {db['ns'] / 1000:.1f} us)"
        )
        out.append(_target(title, "PASS" if x <= 2 else "MISS", value))
    return out
