"""A site's Earth Engine analysis: the real ``earthengine-api`` graph, run live or recorded as a dry run.

The analysis (``build_analysis``) is one computation graph per site and date window:

* vegetation: Sentinel-2 surface reflectance (``COPERNICUS/S2_SR_HARMONIZED``) over the polygon,
  cloud and shadow pixels masked with the scene classification band (``SCL``), NDVI of the median
  composite, reduced to mean, standard deviation and pixel count at 10 m; plus the scene count;
* forest loss: Hansen Global Forest Change (``UMD/hansen/global_forest_change_2023_v1_11``) in a
  buffer around the site, where tree cover in 2000 was at least 30 %: a histogram of the loss
  year and the lost area in m².

Two modes, chosen from configuration and never by trying (a key file with no network stalls for
about 35 s before it fails):

* **live** when ``GEE_PROJECT`` and credentials (``GEE_SERVICE_ACCOUNT_KEY``, a key file, or
  ``GOOGLE_APPLICATION_CREDENTIALS``) are set: ``ee.Initialize`` once per process under a lock,
  every ``getInfo()`` behind one process-wide semaphore of ``GEE_MAX_CONCURRENT`` slots (Google
  allows 40 concurrent interactive requests per project; several processes share that), transient
  errors (HTTP 429 or 5xx, quota, "Too many concurrent aggregations") retried with jittered
  exponential backoff that sleeps *outside* the semaphore, and values cached by the SHA-256 of the
  serialized graph for ``GEE_CACHE_SECONDS``. The library's own retries are turned off
  (``ee.data.setMaxRetries(0)``): they sleep inside the call, so inside a slot.
* **dry run** (the default, and every test): the offline route of ``docs``' Earth Engine notes is
  installed once per process (no discovery fetch, the algorithm signatures bundled in the wheel,
  no data catalog, and a ``computeValue`` that raises, so no value can ever be made up), the same
  graph is built, and the result records its hash, its datasets and its size, says it is a dry run
  and holds no statistics at all. ``GEE_DRY_RUN_SECONDS`` stands in for the service's time: the
  task holds a slot and sleeps that long, and the result says so (``simulated_service_seconds``).

**Progress.** ``analyse(..., progress=report)`` calls ``report(current, total, message)`` at each
real step (``STEPS`` of them): initializing the library, building the geometry, the Sentinel-2
collection, the forest-loss reductions, serializing the graph, then the service call, each attempt
and each wait before a retry (live), or the simulated service time in half-second slices (dry run,
and the message says it is one). The site task passes ``dualqueue.django.report_progress``.

The library's state is process-global: the two modes never mix in one process (the second one
asked for raises ``RuntimeError``). Tests exercise the live path without a network in two ways:
an ``EarthEngine`` given a ``compute`` callable (in process), and ``initialize_live(...,
http_transport=fake)`` in a subprocess, which drives the real request code end to end.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import ee
from dualqueue import Retry

__all__ = [
    "DRY_RUN_NOTE",
    "HANSEN",
    "SENTINEL2",
    "EarthEngine",
    "build_analysis",
    "datasets",
    "expression_sha256",
    "from_settings",
    "initialize_live",
    "install_offline",
    "is_transient",
    "service",
]

logger = logging.getLogger("esg.sites")

SENTINEL2 = "COPERNICUS/S2_SR_HARMONIZED"
HANSEN = "UMD/hansen/global_forest_change_2023_v1_11"
# Scene classification classes that are not ground: cloud shadow (3), cloud of medium (8) and
# high (9) probability, thin cirrus (10).
CLOUDY_SCL = (3, 8, 9, 10)
DRY_RUN_NOTE = "dry run: no Earth Engine call was made; no values computed"
# Transient errors: up to 5 attempts, waits of about 1-2 s, 2-4 s, 4-8 s, 8-16 s (jitter keeps at
# least half of each), capped at 60 s.
DEFAULT_RETRY = Retry(attempts=5, base_delay=2.0, factor=2.0, max_delay=60.0, jitter=0.5)
STEPS = 6  # initialize, geometry, Sentinel-2 collection, forest loss, serialize, the service call
DRY_RUN_SLICE = 0.5  # seconds: a dry run's simulated service time advances its progress this often

Progress = Callable[[float, float, str], object]


def _no_progress(current: float, total: float, message: str) -> None:
    return None


# -- the computation ---------------------------------------------------------


def build_analysis(
    polygon: dict[str, Any], *, start: str, end: str, buffer_m: int = 1000, progress: Progress = _no_progress
) -> ee.Dictionary:
    """The site analysis as an Earth Engine graph. ``polygon`` is a validated GeoJSON Polygon.

    Keyword arguments throughout: the algorithm signatures bundled for the dry run are older
    than the live server's, and positional arguments could bind differently. ``progress`` hears
    each part of the graph as it is built (steps 1 to 3 of ``STEPS``).
    """
    progress(1, STEPS, f"building the site geometry ({len(polygon['coordinates'][0])} vertices)")
    site = ee.Geometry.Polygon(coords=polygon["coordinates"], geodesic=True, evenOdd=True)

    def mask_clouds(image: ee.Image) -> ee.Image:
        scl = image.select("SCL")
        ground = scl.neq(CLOUDY_SCL[0])
        for value in CLOUDY_SCL[1:]:
            ground = ground.And(scl.neq(value))
        return image.updateMask(ground)

    progress(2, STEPS, f"building the Sentinel-2 collection {start} – {end}: cloud mask, median NDVI")
    scenes = ee.ImageCollection(SENTINEL2).filterBounds(site).filterDate(start, end)
    ndvi = scenes.map(mask_clouds).median().normalizedDifference(["B8", "B4"]).rename("ndvi")
    reducer = ee.Reducer.mean().combine(reducer2=ee.Reducer.stdDev(), sharedInputs=True)
    reducer = reducer.combine(reducer2=ee.Reducer.count(), sharedInputs=True)
    vegetation = ndvi.reduceRegion(reducer=reducer, geometry=site, scale=10, maxPixels=1e9, bestEffort=True)

    progress(3, STEPS, f"building the Hansen forest-loss reductions ({buffer_m} m around the site)")
    around = site.buffer(distance=buffer_m)
    hansen = ee.Image(HANSEN)
    forest = hansen.select("treecover2000").gte(30)
    loss_year = hansen.select("lossyear").updateMask(forest)
    loss_area = hansen.select("loss").updateMask(forest).multiply(ee.Image.pixelArea()).rename("loss_m2")
    histogram = loss_year.reduceRegion(
        reducer=ee.Reducer.frequencyHistogram(), geometry=around, scale=30, maxPixels=1e9, bestEffort=True
    )
    lost = loss_area.reduceRegion(reducer=ee.Reducer.sum(), geometry=around, scale=30, maxPixels=1e9, bestEffort=True)

    return ee.Dictionary(
        {
            "window": {"start": start, "end": end},
            "scenes": scenes.size(),
            "ndvi": vegetation,
            "forest_loss": {"buffer_m": buffer_m, "loss_year_histogram": histogram, "loss_area": lost},
        }
    )


def expression_sha256(expr: ee.ComputedObject) -> tuple[str, int]:
    """The SHA-256 of ``expr.serialize()`` (exactly what ``getInfo()`` sends) and its size in bytes."""
    body = expr.serialize().encode("utf-8")
    return hashlib.sha256(body).hexdigest(), len(body)


def datasets(expr: ee.ComputedObject) -> list[str]:
    """The Earth Engine asset ids the graph loads, sorted, read from the graph itself."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            call = node.get("functionInvocationValue")
            if isinstance(call, dict) and call.get("functionName") in ("Image.load", "ImageCollection.load"):
                found.add(call["arguments"]["id"]["constantValue"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(ee.serializer.encode(expr, is_compound=False))
    return sorted(found)


# -- the library's process-global state --------------------------------------

# Guards _mode: which way this process initialized the library. Held while initializing, so two
# threads asking at once initialize once.
_mode_lock = threading.Lock()
_mode: str | None = None


def _refuse_compute(obj: Any) -> Any:
    raise ee.EEException("dry run: Earth Engine calls are disabled in this process; nothing was computed")


def install_offline(project: str = "dualqueue-dry-run") -> None:
    """Make the library build graphs with no network and no credentials. Once per process.

    The replacements are the ones the notes list, and they stay for the life of the process
    (``ee.Reset()`` does not undo them): a dry-run process never talks to Earth Engine.
    """
    global _mode
    with _mode_lock:
        if _mode == "dry-run":
            return
        if _mode is not None:
            raise RuntimeError(f"Earth Engine is already initialized in {_mode} mode in this process")
        from ee import apitestcase, deprecation

        ee.data._install_cloud_api_resource = lambda: None  # skip the two discovery fetches
        ee.data.getAlgorithms = apitestcase.GetAlgorithms  # the ~990 signatures shipped in the wheel
        ee.data.computeValue = _refuse_compute  # getInfo() can never return a value
        deprecation._FetchDataCatalogStac = lambda: {}  # no data-catalog fetch
        ee.Initialize(credentials=None, project=project)
        _mode = "dry-run"


def initialize_live(
    project: str, credentials: Any, *, http_transport: Any = None, deadline_seconds: float = 300.0
) -> None:
    """``ee.Initialize`` for real calls, once per process; the library's own retries off."""
    global _mode
    with _mode_lock:
        if _mode == "live":
            return
        if _mode is not None:
            raise RuntimeError(f"Earth Engine is already initialized in {_mode} mode in this process")
        ee.Initialize(credentials=credentials, project=project, http_transport=http_transport)
        ee.data.setMaxRetries(0)  # retries happen in EarthEngine.analyse, outside the semaphore
        ee.data.setDeadline(int(deadline_seconds * 1000))  # must follow Initialize
        _mode = "live"


def current_mode() -> str | None:
    """``"dry-run"``, ``"live"``, or None before the first analysis."""
    with _mode_lock:
        return _mode


# -- transient errors --------------------------------------------------------

_TRANSIENT_TEXT = ("too many concurrent aggregations", "quota", "rate limit", "resource_exhausted", "429")


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: 429 or 5xx, quota, "Too many concurrent aggregations".

    ``EEException`` carries only a message; the HTTP status, when there is one, is on the
    chained ``HttpError`` (``__cause__`` or ``__context__``).
    """
    text = str(exc).lower()
    if any(marker in text for marker in _TRANSIENT_TEXT):
        return True
    for chained in (exc.__cause__, exc.__context__):
        status = getattr(getattr(chained, "resp", None), "status", None)
        if isinstance(status, int) and (status == 429 or 500 <= status < 600):
            return True
    return False


# -- the client --------------------------------------------------------------


class EarthEngine:
    """Runs site analyses: a concurrency cap, retries, a cache (live) or a labelled dry run.

    ``prepare`` initializes the library (``install_offline`` or a ``initialize_live`` partial);
    ``compute(expr)`` asks the service for a value (``expr.getInfo()`` by default). ``sleep``,
    ``clock`` and the retry policy's ``rng`` are injectable, so tests control time and chance.
    """

    def __init__(
        self,
        *,
        live: bool,
        prepare: Callable[[], None] = install_offline,
        compute: Callable[[ee.ComputedObject], Any] | None = None,
        max_concurrent: int = 8,
        retry: Retry = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        dry_run_seconds: float = 0.0,
        cache_seconds: float = 3600.0,
        cache_size: int = 256,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent!r}")
        if not dry_run_seconds >= 0:
            raise ValueError(f"dry_run_seconds must be >= 0, got {dry_run_seconds!r}")
        self.live = live
        self.prepare = prepare
        self.compute = compute if compute is not None else _get_info
        self.max_concurrent = max_concurrent
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.dry_run_seconds = float(dry_run_seconds)
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        # The process-wide cap on calls in flight to Earth Engine (or, in a dry run, on simulated ones).
        self._slots = threading.BoundedSemaphore(max_concurrent)
        # Guards _cache: expression hash -> (stored at, values), oldest first.
        self._cache_lock = threading.Lock()
        self._cache: collections.OrderedDict[str, tuple[float, Any]] = collections.OrderedDict()

    @property
    def mode(self) -> str:
        return "live" if self.live else "dry-run"

    def analyse(
        self, polygon: dict[str, Any], *, start: str, end: str, progress: Progress = _no_progress
    ) -> dict[str, Any]:
        """The analysis result for ``polygon`` over ``[start, end)``: live values or a labelled dry run.

        ``progress(current, total, message)`` hears each step as it starts (see the module's notes).
        """
        mode = "live" if self.live else "dry run: offline, no credentials"
        progress(0, STEPS, f"initializing Earth Engine ({mode})")
        self.prepare()
        expr = build_analysis(polygon, start=start, end=end, progress=progress)
        progress(4, STEPS, "serializing the computation graph")
        digest, size = expression_sha256(expr)
        result: dict[str, Any] = {
            "mode": self.mode,
            "expression_sha256": digest,
            "datasets": datasets(expr),
            "graph_bytes": size,
            "window": {"start": start, "end": end},
        }
        if not self.live:
            if self.dry_run_seconds:
                self._wait_for_slot(progress)
                with self._slots:  # a simulated call takes a slot like a real one
                    self._simulate(progress)
            result.update(note=DRY_RUN_NOTE, simulated_service_seconds=self.dry_run_seconds)
            progress(STEPS, STEPS, "done (dry run: no Earth Engine call, no values)")
            return result

        cached = self._cached(digest)
        if cached is not None:
            result.update(values=cached, cached=True, attempts=0)
            progress(STEPS, STEPS, "done (values from the cache)")
            return result
        values, attempts = self._call(expr, progress)
        self._store(digest, values)
        result.update(values=values, cached=False, attempts=attempts)
        progress(STEPS, STEPS, f"done ({attempts} attempt{'s' if attempts != 1 else ''})")
        return result

    def _wait_for_slot(self, progress: Progress) -> None:
        """Say so when every slot is taken: the task waits for one (the process-wide cap), it is not stuck."""
        if self._slots.acquire(blocking=False):
            self._slots.release()  # one is free now: the call takes it next (or waits, briefly, if it lost it)
            return
        progress(STEPS - 1, STEPS, f"waiting for a free Earth Engine slot (all {self.max_concurrent} in use)")

    def _simulate(self, progress: Progress) -> None:
        """Stand in for the service's time in slices, so the progress moves as a real call's wait would."""
        total, waited = self.dry_run_seconds, 0.0
        while waited < total:
            progress(
                STEPS - 1 + waited / total, STEPS,
                f"dry run: simulated service time, {waited:.1f} of {total:g} s (no Earth Engine call)",
            )  # fmt: skip
            step = min(DRY_RUN_SLICE, total - waited)
            self.sleep(step)
            waited += step

    def _call(self, expr: ee.ComputedObject, progress: Progress = _no_progress) -> tuple[Any, int]:
        failures = 0
        while True:
            self._wait_for_slot(progress)
            try:
                with self._slots:
                    progress(STEPS - 1, STEPS, f"asking Earth Engine (attempt {failures + 1} of {self.retry.attempts})")
                    return self.compute(expr), failures + 1
            except Exception as exc:
                failures += 1
                if not is_transient(exc) or failures >= self.retry.attempts:
                    raise
                delay = self.retry.delay(failures)
                logger.warning("earth engine: %s (attempt %d); retrying in %.1fs", _brief(exc), failures, delay)
                progress(STEPS - 1, STEPS, f"Earth Engine busy ({_brief(exc)[:80]}); retrying in {delay:.1f} s")
            # Outside the semaphore: a call waiting to retry holds no slot.
            self.sleep(delay)

    def _cached(self, digest: str) -> Any:
        with self._cache_lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            stored_at, values = entry
            if self.clock() - stored_at > self.cache_seconds:
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return values

    def _store(self, digest: str, values: Any) -> None:
        with self._cache_lock:
            self._cache[digest] = (self.clock(), values)
            self._cache.move_to_end(digest)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)


def _get_info(expr: ee.ComputedObject) -> Any:
    return expr.getInfo()


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


# -- the process's client, from settings --------------------------------------


def configured_mode() -> str:
    """``"live"`` if the settings and environment configure Earth Engine, else ``"dry-run"``."""
    from django.conf import settings

    project = getattr(settings, "GEE_PROJECT", "")
    key_file = getattr(settings, "GEE_SERVICE_ACCOUNT_KEY", "")
    return "live" if project and (key_file or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")) else "dry-run"


def from_settings(*, http_transport: Any = None) -> EarthEngine:
    """An ``EarthEngine`` configured by the Django settings and the environment (see module docs)."""
    import functools

    from django.conf import settings

    project = getattr(settings, "GEE_PROJECT", "")
    key_file = getattr(settings, "GEE_SERVICE_ACCOUNT_KEY", "")
    common: dict[str, Any] = {
        "max_concurrent": int(getattr(settings, "GEE_MAX_CONCURRENT", 8)),
        "cache_seconds": float(getattr(settings, "GEE_CACHE_SECONDS", 3600.0)),
    }
    if configured_mode() == "live":
        prepare = functools.partial(
            initialize_live, project, _credentials(key_file), http_transport=http_transport
        )
        return EarthEngine(live=True, prepare=prepare, **common)
    dry_project = project or "dualqueue-dry-run"
    seconds = float(getattr(settings, "GEE_DRY_RUN_SECONDS", 0.0))
    return EarthEngine(
        live=False, prepare=functools.partial(install_offline, dry_project), dry_run_seconds=seconds, **common
    )


def _credentials(key_file: str) -> Any:
    if key_file:
        return ee.ServiceAccountCredentials(None, key_file=key_file)
    import google.auth

    scopes = ["https://www.googleapis.com/auth/earthengine", "https://www.googleapis.com/auth/cloud-platform"]
    credentials, _project = google.auth.default(scopes=scopes)
    return credentials


# Guards _service: the process's one EarthEngine (one semaphore, one cache), built on first use.
_service_lock = threading.Lock()
_service: EarthEngine | None = None


def service() -> EarthEngine:
    """The process's ``EarthEngine``, built from settings on first use."""
    global _service
    with _service_lock:
        if _service is None:
            _service = from_settings()
        return _service


def use_service(engine: EarthEngine | None) -> EarthEngine | None:
    """Replace the process's ``EarthEngine`` (tests, the flood command); returns the previous one."""
    global _service
    with _service_lock:
        previous, _service = _service, engine
        return previous


def _forget_service_in_child() -> None:
    # A forked child gets its own semaphore and cache; the library's initialized state is kept.
    global _service, _service_lock
    _service_lock = threading.Lock()
    _service = None


os.register_at_fork(after_in_child=_forget_service_in_child)


def default_window(today: datetime.date | None = None) -> tuple[str, str]:
    """The last full calendar year: ``("YYYY-01-01", "YYYY+1-01-01")``."""
    year = (today or datetime.date.today()).year - 1
    return f"{year}-01-01", f"{year + 1}-01-01"
