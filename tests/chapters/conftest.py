"""The chapters as test subjects: discover them, read their features, run one test on
every chapter that has a feature.

Every chapter package ``chapters/chNN_slug/`` declares in its ``__init__.py``
which behaviours it has::

    FEATURES: frozenset[str] = frozenset({"worker", "survives_errors", "lazy_start"})

A behaviour test asks for the ``chapter`` argument and names the features it
needs with the ``feature`` marker; it then runs once per chapter that has all of
them (test ids are the chapter names), and once against the reference core
(``dualqueue``, the pseudo-chapter ``reference``, which has every feature), so
that the suite is proven against the reference too::

    @pytest.mark.feature("pool")
    def test_join_times_out_while_a_task_blocks(chapter: Chapter) -> None:
        pool = chapter.pool(workers=2)
        ...

For explicit parametrization, ``chapters_with("pool")`` returns the same
parameters: ``@pytest.mark.parametrize("chapter", chapters_with("pool"))``.

The names a chapter must export for each feature (the reference's names):

* ``worker`` without ``pool``: ``Worker(name)`` (chapter 2's single worker);
* ``pool``: ``WorkerPool(name, workers=..., maxsize=...)`` (``maxsize`` with
``bounded``);
* ``task_system``: ``TaskSystem(**pools)``; ``bounded``: ``QueueFullError``;
  ``shutdown``: ``PoolClosedError`` and ``shutdown(timeout)`` on pools and systems.

Worker threads are named ``dualqueue-<pool name>-<slot>``, as in the reference:
``support.worker_threads(name)`` finds a pool's live workers by that name.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

__all__ = [
    "CHAPTERS",
    "FEATURE_VOCABULARY",
    "Chapter",
    "broken_chapter",
    "chapters_with",
]

# The fixed vocabulary. A chapter declaring anything else is a typo, and fails
# collection.
FEATURE_VOCABULARY = frozenset(
    {
        # submit(fn, /, *args, **kwargs) runs tasks on a background thread (ch02+)
        "worker",
        "survives_errors",  # a raising task never kills its worker (ch02+)
        "lazy_start",  # creating starts no thread; the first submit does (ch02+)
        # WorkerPool(name, workers) runs N tasks at once; join(timeout) -> bool (ch03+)
        "pool",
        # non-callable -> TypeError, workers < 1 -> ValueError, at the caller (ch03+)
        "bad_input",
        "priority",  # PriorityPool: waiting tasks reordered (ch04 only)
        "task_system",  # TaskSystem(general=2, site=10): named, isolated pools (ch05+)
        "bounded",  # WorkerPool(maxsize=N): QueueFullError at the caller (ch05+)
        "stats",  # counters under one lock (ch06+)
        "snapshot",  # snapshot() -> JSON-serializable picture (ch06+)
        "clock",  # injected clocks: SystemClock, FakeClock
        "debouncer",  # Debouncer(fn, wait=..., ...)
        "retries",  # Retry policies
        "dead_letters",  # bounded ring of finally-failed tasks
        "shutdown",  # shutdown(timeout) -> ShutdownReport, PoolClosedError
        "fork",  # fresh pools in a forked child
        "exit_drain",  # the atexit drain
        "deferred",  # submit_after(delay, fn): waits on the clock, scheduled (ch13+)
        "periodic",  # every(name, schedule, fn): one run per tick, any process (ch13+)
        "progress",  # report_progress(current, total, message) in the snapshot (ch13+)
    }
)

ROOT = Path(__file__).resolve().parents[2]
CHAPTER_PACKAGE = re.compile(r"ch\d\d_[a-z0-9_]+")


@dataclass(frozen=True)
class Chapter:
    """One chapter package (or the reference core) as a test subject."""

    name: str  # "ch03_pool", or "reference"
    module: ModuleType
    features: frozenset[str]

    def has(self, *features: str) -> bool:
        return set(features) <= self.features

    def worker(self, name: str = "general") -> Any:
        """Something with ``submit`` and one worker thread: ``Worker`` in chapter 2,
        else a one-worker pool."""
        if self.has("pool"):
            return self.pool(workers=1, name=name)
        return self.module.Worker(name)

    def pool(self, workers: int = 2, maxsize: int = 0, name: str = "general") -> Any:
        """The chapter's ``WorkerPool``; ``maxsize`` is passed only when non-zero (it
        needs ``bounded``)."""
        if maxsize:
            return self.module.WorkerPool(name, workers=workers, maxsize=maxsize)
        return self.module.WorkerPool(name, workers=workers)

    def task_system(self, **pools: Any) -> Any:
        """The chapter's ``TaskSystem`` (the seed's ``general=2, site=10`` when no pools
        are given)."""
        return self.module.TaskSystem(**pools)

    def finish(self, subject: Any, timeout: float = 10.0) -> None:
        """Leave no work behind: shut down where the chapter can, else wait for the
        queue to empty."""
        if self.has("shutdown") and hasattr(subject, "shutdown"):
            subject.shutdown(timeout=timeout)
        elif hasattr(subject, "join") and self.has("pool"):
            subject.join(timeout)


def broken_chapter(name: str, features: set[str], **exports: object) -> Chapter:
    """A made-up chapter exporting broken variants, for proving that a behaviour test
    can fail."""
    return Chapter(name, SimpleNamespace(**exports), frozenset(features))  # type: ignore[arg-type]


def _discover() -> list[Chapter]:
    chapters = []
    for path in sorted((ROOT / "chapters").iterdir()):
        if not (
            path.is_dir()
            and CHAPTER_PACKAGE.fullmatch(path.name)
            and (path / "__init__.py").exists()
        ):
            continue
        module = importlib.import_module(f"chapters.{path.name}")
        features = getattr(module, "FEATURES", None)
        if not isinstance(features, frozenset):
            raise TypeError(
                f"chapters.{path.name} must declare FEATURES: frozenset[str], got "
                f"{features!r}"
            )
        unknown = features - FEATURE_VOCABULARY
        if unknown:
            raise ValueError(
                f"chapters.{path.name} declares unknown features {sorted(unknown)}"
            )
        chapters.append(Chapter(path.name, module, features))
    chapters.append(
        Chapter(
            "reference",
            importlib.import_module("dualqueue"),
            FEATURE_VOCABULARY - {"priority"},
        )
    )
    return chapters


CHAPTERS: list[Chapter] = _discover()


def chapters_with(*features: str) -> list[Any]:
    """``pytest.param``s for every chapter (and the reference) having all ``features``,
    ids = chapter names."""
    unknown = set(features) - FEATURE_VOCABULARY
    if unknown:
        raise ValueError(
            f"unknown features {sorted(unknown)}; the vocabulary is "
            f"{sorted(FEATURE_VOCABULARY)}"
        )
    return [
        pytest.param(chapter, id=chapter.name)
        for chapter in CHAPTERS
        if chapter.has(*features)
    ]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "feature(*names): run the test once per chapter (and the reference) that has "
        "every named feature",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("feature")
    if marker is None or "chapter" not in metafunc.fixturenames:
        return
    params = chapters_with(*marker.args)
    if not params:
        # cannot happen while the reference has all
        raise ValueError(f"no chapter has the features {marker.args}")
    metafunc.parametrize("chapter", params)
