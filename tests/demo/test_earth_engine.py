"""The site analysis: a deterministic Earth Engine graph, an honest dry run, and a live path that
retries quota errors outside a concurrency cap (driven by fakes: no network, no credentials).

This process builds graphs in dry-run mode (``install_offline``); the live path is exercised
here with an injected ``compute`` and, end to end through the real client's request code, in a
subprocess with a fake HTTP transport (``tests/demo/ee_fake_transport.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import ee
import httplib2
import pytest
from dualqueue import Retry
from esg.sites import earth_engine
from esg.sites.earth_engine import DRY_RUN_NOTE, HANSEN, SENTINEL2, EarthEngine, build_analysis, install_offline
from googleapiclient.errors import HttpError

from . import ee_fake_transport

ROOT = Path(__file__).resolve().parents[2]
WINDOW = {"start": "2024-01-01", "end": "2025-01-01"}


def square(lon: float = 10.0, lat: float = 50.0, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(autouse=True)
def _offline() -> None:
    install_offline()


def numeric_keys(value: Any, key: str = "") -> set[str]:
    """The keys under which ``value`` holds a number, at any depth."""
    if isinstance(value, bool):
        return set()
    if isinstance(value, (int, float)):
        return {key}
    if isinstance(value, dict):
        return set().union(*(numeric_keys(v, k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(numeric_keys(v, key) for v in value))
    return set()


# -- the graph -----------------------------------------------------------------


def test_the_graph_is_deterministic_and_depends_on_the_polygon_and_window() -> None:
    first = earth_engine.expression_sha256(build_analysis(square(), **WINDOW))
    again = earth_engine.expression_sha256(build_analysis(square(), **WINDOW))
    assert first == again
    assert earth_engine.expression_sha256(build_analysis(square(lon=11.0), **WINDOW))[0] != first[0]
    assert earth_engine.expression_sha256(build_analysis(square(), start="2023-01-01", end="2024-01-01"))[0] != first[0]


def test_the_graph_loads_sentinel2_and_hansen_and_reduces_over_the_polygon() -> None:
    expr = build_analysis(square(), **WINDOW)
    assert earth_engine.datasets(expr) == sorted([SENTINEL2, HANSEN])
    text = expr.serialize()
    for needle in (SENTINEL2, HANSEN, '"SCL"', "Image.normalizedDifference", "Image.reduceRegion", "2024-01-01"):
        assert needle in text, needle
    assert "[10.1, 50.1]" in json.dumps(ee.serializer.encode(expr, is_compound=False))


def test_a_dry_run_makes_no_call_and_invents_no_number() -> None:
    expr = build_analysis(square(), **WINDOW)
    with pytest.raises(ee.EEException, match="dry run"):
        expr.getInfo()  # the offline route's computeValue refuses

    result = EarthEngine(live=False).analyse(square(), **WINDOW)
    assert result["mode"] == "dry-run"
    assert result["note"] == DRY_RUN_NOTE
    assert result["expression_sha256"] == earth_engine.expression_sha256(expr)[0]
    assert result["datasets"] == sorted([SENTINEL2, HANSEN])
    assert "values" not in result
    # The only numbers are the graph's size and the simulated time, each under its own label.
    assert numeric_keys(result) == {"graph_bytes", "simulated_service_seconds"}


def test_simulated_service_time_is_slept_in_a_slot_and_labelled() -> None:
    slept: list[float] = []
    engine = EarthEngine(live=False, dry_run_seconds=0.05, max_concurrent=1)

    def sleep(seconds: float) -> None:
        assert not engine._slots.acquire(blocking=False), "the simulated call should hold the only slot"
        slept.append(seconds)

    engine.sleep = sleep
    result = engine.analyse(square(), **WINDOW)
    assert slept == [0.05]
    assert result["simulated_service_seconds"] == 0.05
    assert numeric_keys(result) == {"graph_bytes", "simulated_service_seconds"}


# -- the live path, with an injected compute -------------------------------------


def quota_error(message: str = "Too many concurrent aggregations.") -> ee.EEException:
    return ee.EEException(message)


def http_error(status: int) -> ee.EEException:
    """An EEException as the library raises it: no status in its text, the HttpError chained."""
    exc = ee.EEException("the request failed")
    exc.__context__ = HttpError(httplib2.Response({"status": status}), b"{}")
    return exc


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (quota_error(), True),
        (ee.EEException("Quota exceeded for quota metric 'Requests'"), True),
        (http_error(429), True),
        (http_error(503), True),
        (http_error(400), False),
        (ee.EEException("Image.load: Image asset 'x' not found."), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_errors_are_told_from_permanent_ones(exc: BaseException, transient: bool) -> None:
    assert earth_engine.is_transient(exc) is transient


class FlakyCompute:
    """Fails ``failures`` times with ``error``, then returns ``values``; counts calls."""

    def __init__(self, failures: int, error: BaseException, values: Any = None) -> None:
        self.failures = failures
        self.error = error
        self.values = values if values is not None else {"scenes": 3}
        self.calls = 0

    def __call__(self, expr: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self.values


def live(compute: Any, **kwargs: Any) -> tuple[EarthEngine, list[float]]:
    sleeps: list[float] = []
    retry = Retry(attempts=5, base_delay=2.0, factor=2.0, max_delay=60.0, jitter=0.5, rng=lambda: 0.5)
    engine = EarthEngine(live=True, compute=compute, retry=retry, sleep=sleeps.append, **kwargs)
    return engine, sleeps


def test_quota_errors_are_retried_with_backoff_until_the_service_recovers() -> None:
    compute = FlakyCompute(2, quota_error())
    engine, sleeps = live(compute)
    result = engine.analyse(square(), **WINDOW)
    assert compute.calls == 3
    assert sleeps == [1.5, 3.0]  # base 2 s doubling, jitter 0.5 with rng 0.5 keeps 75 %
    assert result["mode"] == "live"
    assert result["values"] == {"scenes": 3}
    assert result["attempts"] == 3
    assert result["cached"] is False


def test_a_retry_waits_without_holding_a_slot() -> None:
    compute = FlakyCompute(1, http_error(429))
    engine, _ = live(compute, max_concurrent=1)
    free_while_waiting: list[bool] = []

    def sleep(seconds: float) -> None:
        took = engine._slots.acquire(blocking=False)
        free_while_waiting.append(took)
        if took:
            engine._slots.release()

    engine.sleep = sleep
    engine.analyse(square(), **WINDOW)
    assert free_while_waiting == [True]


def test_a_permanent_error_is_raised_at_once() -> None:
    compute = FlakyCompute(1, ee.EEException("Image.load: Image asset not found."))
    engine, sleeps = live(compute)
    with pytest.raises(ee.EEException, match="not found"):
        engine.analyse(square(), **WINDOW)
    assert (compute.calls, sleeps) == (1, [])


def test_quota_errors_that_never_stop_give_up_after_the_last_attempt() -> None:
    compute = FlakyCompute(99, quota_error())
    engine, sleeps = live(compute)
    with pytest.raises(ee.EEException, match="Too many concurrent"):
        engine.analyse(square(), **WINDOW)
    assert compute.calls == 5
    assert len(sleeps) == 4


def test_results_are_cached_by_expression_hash_until_they_expire() -> None:
    now = [0.0]
    compute = FlakyCompute(0, quota_error())
    engine, _ = live(compute, cache_seconds=60, clock=lambda: now[0])
    first = engine.analyse(square(), **WINDOW)
    second = engine.analyse(square(), **WINDOW)
    assert compute.calls == 1
    assert (second["cached"], second["values"]) == (True, first["values"])
    engine.analyse(square(lon=12), **WINDOW)
    assert compute.calls == 2  # another polygon, another hash
    now[0] = 61.0
    engine.analyse(square(), **WINDOW)
    assert compute.calls == 3


def test_the_concurrency_cap_is_never_exceeded_by_many_threads() -> None:
    cap, threads = 3, 12
    state = threading.Condition()
    in_flight = peak = 0
    calls: dict[str, int] = {}
    release = threading.Event()

    def compute(expr: Any) -> Any:
        nonlocal in_flight, peak
        key = earth_engine.expression_sha256(expr)[0]
        with state:
            calls[key] = calls.get(key, 0) + 1
            first_call = calls[key] == 1
            in_flight += 1
            peak = max(peak, in_flight)
            state.notify_all()
        try:
            if first_call:  # every analysis meets one quota error first, after holding its slot
                release.wait(10)
                raise quota_error()
            return {"ok": True}
        finally:
            with state:
                in_flight -= 1

    engine, _ = live(compute, max_concurrent=cap)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            engine.analyse(square(lon=i), **WINDOW)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    with state:
        assert state.wait_for(lambda: in_flight == cap, timeout=10), "the cap was never reached"
    release.set()
    for worker in workers:
        worker.join(10)
    assert not errors
    assert peak == cap
    assert sorted(calls.values()) == [2] * threads


# -- the live path, end to end through the real client, in its own process -----------


def test_live_mode_through_a_fake_transport_sends_the_graph_and_retries_429() -> None:
    path = [str(ROOT / "reference/demo"), str(ROOT / "reference"), str(ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.demo.ee_fake_transport"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    result = report["result"]
    computes = [r for r in report["requests"] if r["path"].endswith("/value:compute")]

    assert result["mode"] == "live"
    assert result["values"] == ee_fake_transport.VALUES
    assert result["attempts"] == ee_fake_transport.QUOTA_FAILURES + 1
    assert len(computes) == ee_fake_transport.QUOTA_FAILURES + 1  # the library's own retries are off
    assert report["max_retries"] == 0
    assert len(report["sleeps"]) == ee_fake_transport.QUOTA_FAILURES
    assert all(r["headers"].get("X-Goog-User-Project") == "demo-project" for r in computes)
    assert all(r["expression"] == report["expected_expression"] for r in computes)
    # The same graph, hashed the same, in another process and the other mode.
    dry = EarthEngine(live=False).analyse(ee_fake_transport.POLYGON, **ee_fake_transport.WINDOW)
    assert result["expression_sha256"] == dry["expression_sha256"]


def test_a_dry_run_reports_its_real_steps_and_says_it_is_a_dry_run() -> None:
    from esg.sites.earth_engine import STEPS

    reports: list[tuple[float, float, str]] = []
    engine = EarthEngine(live=False, dry_run_seconds=2.0, sleep=lambda seconds: None)
    engine.analyse(square(), progress=lambda *report: reports.append(report), **WINDOW)
    currents = [current for current, _, _ in reports]
    assert currents == sorted(currents), f"progress never goes backwards: {currents}"
    assert {total for _, total, _ in reports} == {STEPS}
    messages = [message for _, _, message in reports]
    assert messages[0].startswith("initializing Earth Engine (dry run")
    assert any("site geometry" in m for m in messages) and any("Sentinel-2" in m for m in messages)
    assert any("forest-loss" in m for m in messages) and any("serializing" in m for m in messages)
    simulated = [m for m in messages if m.startswith("dry run: simulated service time")]
    assert len(simulated) == 4, "2 s of simulated service time, reported in half-second slices"
    assert all("no Earth Engine call" in m for m in simulated)
    assert reports[-1] == (STEPS, STEPS, "done (dry run: no Earth Engine call, no values)")


def test_a_live_call_reports_each_attempt_and_each_wait() -> None:
    reports: list[str] = []
    failures = iter([ee.EEException("Too many concurrent aggregations.")])

    def compute(expr: Any) -> Any:
        for exc in failures:
            raise exc
        return {"ok": 1}

    engine, _ = live(compute)
    engine.analyse(square(), progress=lambda c, t, m: reports.append(m), **WINDOW)
    asked = [m for m in reports if m.startswith("asking Earth Engine")]
    assert asked == ["asking Earth Engine (attempt 1 of 5)", "asking Earth Engine (attempt 2 of 5)"]
    assert any(m.startswith("Earth Engine busy (EEException: Too many concurrent") for m in reports)
    assert reports[-1] == "done (2 attempts)"


def test_a_call_waiting_for_a_slot_says_so() -> None:
    reports: list[str] = []
    engine = EarthEngine(live=False, dry_run_seconds=0.5, max_concurrent=1, sleep=lambda seconds: None)
    assert engine._slots.acquire(blocking=False)  # another analysis holds the only slot
    threading.Timer(0.2, engine._slots.release).start()  # ...and gives it back (a deadlock detector if not)
    engine.analyse(square(), progress=lambda c, t, m: reports.append(m), **WINDOW)
    assert "waiting for a free Earth Engine slot (all 1 in use)" in reports
    assert reports.index("waiting for a free Earth Engine slot (all 1 in use)") < next(
        i for i, m in enumerate(reports) if m.startswith("dry run: simulated")
    )
