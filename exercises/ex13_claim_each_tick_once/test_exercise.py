"""Exercise 13 checks: each tick of a periodic task is claimed by exactly one process.

The claims under test are real files and real ``fcntl`` locks, and the other
worker processes are real processes (``claimer.py``, which uses the same
``claims.py``). Where two processes must act at once, the checks order them by
facts each process reports, never by sleeping: the first stops inside its claim
(at ``write_record``, holding whatever lock it took) until the check lets it go;
the second says when it finds the lock taken. So a claim that is wrong only
under one interleaving is shown that interleaving, every time.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exercises.support import DEADLOCK, explain
from exercises.target import load

claims = load("ex13_claim_each_tick_once", "claims")
FileClaims = claims.FileClaims

ROOT = Path(__file__).resolve().parents[2]
NAME = "nightly-digest"
WAIT = 5 * DEADLOCK  # a deadlock detector for a process's next line (it starts Python)
TICK, PREVIOUS = 600.0, 540.0  # an Every(60) schedule: the tick at 600 follows 540


class Worker:
    """Another worker process claiming one tick (``claimer.py``), and what it says."""

    def __init__(self, directory: Path, tick: float, previous: float | None,
                 pause: bool) -> None:
        args = [sys.executable, "-m", "exercises.ex13_claim_each_tick_once.claimer",
                str(directory), NAME, repr(tick), repr(previous).lower()]
        self.process = subprocess.Popen(
            [*args, "--pause"] if pause else args, cwd=ROOT, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("exited")

    def next(self, timeout: float = WAIT) -> str:
        """``busy``, ``writing``, ``result {...}``, ``exited``, or ``silent``."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            return "silent"

    def go(self) -> None:
        """Let a process paused at ``write_record`` write."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, first: str | None = None) -> dict[str, Any]:
        line = self.next() if first in (None, "silent") else first
        while line in ("busy", "writing"):
            line = self.next()
        if line.startswith("result "):
            return json.loads(line.removeprefix("result "))  # type: ignore[no-any-return]
        return {"error": f"no result ({line} after {WAIT:g} s)"}


Spawn = Callable[..., Worker]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    started: list[Worker] = []

    def start(tick: float, previous: float | None, pause: bool = False) -> Worker:
        started.append(Worker(tmp_path / "claims", tick, previous, pause))
        return started[-1]

    yield start
    for worker in started:
        worker.process.kill()
        worker.process.wait()


def paused_in_its_claim(worker: Worker) -> None:
    said = worker.next()
    assert said == "writing", explain(
        expected="the first process to stop at write_record, in the middle of its claim",
        got=f"it said {said!r}",
        usually="the claim writes the record without calling write_record, or raised "
        "(keep reading and writing the record through read_record and write_record)",
    )


def test_the_first_claim_of_a_tick_wins_and_every_later_claim_of_it_loses(
    tmp_path: Path,
) -> None:
    first = FileClaims(tmp_path).claim(NAME, TICK, PREVIOUS)
    second = FileClaims(tmp_path).claim(NAME, TICK, PREVIOUS)  # another worker's store
    got = [(c.won, c.last) for c in (first, second)]
    assert got == [(True, None), (False, TICK)], explain(
        expected=f"[(True, None), (False, {TICK})]: the tick runs once, the second "
        "claim loses and sees it ran",
        got=repr(got),
        usually="the same tick wins twice: the comparison lets a tick through when the "
        "last tick run is equal to it (last >= tick means it already ran)"
        if got[1][0] else "the first claim of a name never run does not win",
    )


def test_an_older_tick_never_wins_after_a_newer_one(tmp_path: Path) -> None:
    store = FileClaims(tmp_path)
    store.claim(NAME, TICK, PREVIOUS)
    late = store.claim(NAME, PREVIOUS, PREVIOUS - 60)  # a process whose clock lagged
    assert (late.won, late.last) == (False, TICK), explain(
        expected=f"the claim of tick {PREVIOUS} to lose once tick {TICK} has run",
        got=f"won={late.won}, last={late.last}",
        usually="a late process runs an old tick again and moves the record backwards",
    )


# --8<-- [start:skipped]
def test_ticks_nobody_ran_are_counted_as_skipped_and_stored(tmp_path: Path) -> None:
    store = FileClaims(tmp_path)
    store.claim(NAME, 0.0, None)
    store.claim(NAME, 60.0, 0.0)
    gap = store.claim(NAME, 360.0, 300.0)  # nobody ran 120, 180, 240 or 300
    seen = FileClaims(tmp_path).claim(NAME, 360.0, 300.0)  # another process, later
    after = store.claim(NAME, 420.0, 360.0)
    got = (gap.won, gap.last, gap.skipped, seen.skipped, after.skipped)
    assert got == (True, 60.0, 4, 4, 4), explain(
        expected="the claim of 360 wins, finds 60 last run and counts 4 skipped ticks; "
        "the store keeps 4 for every later claim, won or lost",
        got=f"won={got[0]}, last={got[1]}, skipped={got[2]},"
        f" then {got[3]} and {got[4]}",
        usually="the skipped ticks are not counted (skipped_between is never called)"
        if got[2] == 0 else "the skipped count is returned but not stored with the "
        "claim: the next claim (in this process or another) reads the old count",
    )
# --8<-- [end:skipped]


def test_a_tick_another_process_ran_is_not_run_again(spawn: Spawn, tmp_path: Path) -> None:
    theirs = spawn(TICK, PREVIOUS).result()
    mine = FileClaims(tmp_path / "claims").claim(NAME, TICK, PREVIOUS)
    assert theirs.get("won") is True and (mine.won, mine.last) == (False, TICK), explain(
        expected=f"the other process wins tick {TICK}; this one then loses it",
        got=f"the other process: {theirs}; this one: won={mine.won}, last={mine.last}",
        usually="the record lives in this process's memory instead of the file, so each "
        "gunicorn worker runs every tick; or the claim lets through a tick whose record "
        "says it already ran (last >= tick means it ran)",
    )


# --8<-- [start:at-once]
@pytest.mark.budget(40)
def test_two_processes_claiming_one_tick_at_once_run_it_once(spawn: Spawn) -> None:
    first = spawn(TICK, PREVIOUS, pause=True)
    paused_in_its_claim(first)  # it has read the record; it has not written it yet
    second = spawn(TICK, PREVIOUS)
    said = second.next()  # "busy" if it found the lock taken, else its result
    first.go()
    results = [first.result(), second.result(said)]
    won = [r.get("won") for r in results]
    assert won == [True, False], explain(
        expected=f"tick {TICK} to run once: the first process wins; the second finds "
        "the lock taken, waits, reads the first one's record and loses",
        got=f"first: {results[0]}; second (it said {said!r} first): {results[1]}",
        usually="the second process read that the tick had run and ran it again: the "
        "comparison must refuse a tick equal to the last one run (last >= tick), so "
        "the same tick wins twice" if results[1].get("last") == TICK
        else "the record was read before the lock was taken, so the process that "
        "waited went on with a stale record and both ran the tick: lock, then read"
        if said == "busy" else "both processes ran the tick: the second never found "
        "the lock taken while the first was between its read and its write (no file "
        "lock: a threading.Lock is one per process; or the lock is released before "
        "the write)",
    )
    assert results[1].get("last") == TICK, explain(
        expected=f"the losing process to say which tick ran last: {TICK}",
        got=f"second: {results[1]}",
        usually="the loser answers without reading the record (it gave up when it "
        "found the lock busy), so the status picture's last tick is wrong",
    )
# --8<-- [end:at-once]


@pytest.mark.budget(40)
def test_a_process_killed_mid_claim_does_not_stop_the_others(spawn: Spawn) -> None:
    first = spawn(TICK, PREVIOUS, pause=True)
    paused_in_its_claim(first)
    first.process.kill()  # OOM killer, or gunicorn's timeout: no finally block runs
    first.process.wait()
    second = spawn(TICK, PREVIOUS).result()
    assert second.get("won") is True, explain(
        expected=f"the next process to claim tick {TICK} to win it (the killed one "
        "never wrote its record)",
        got=f"the next process: {second}",
        usually="the lock was never released: it outlived the process that held it "
        "(a lock file created with O_EXCL and removed in a finally block stays when "
        "the process is killed). An fcntl.flock is released by the kernel",
    )


@pytest.mark.budget(40)
def test_a_late_process_claiming_an_older_tick_does_not_cost_the_newer_one(
    spawn: Spawn,
) -> None:
    late = spawn(PREVIOUS, PREVIOUS - 60, pause=True)
    paused_in_its_claim(late)
    on_time = spawn(TICK, PREVIOUS)
    said = on_time.next()
    late.go()
    results = [late.result(), on_time.result(said)]
    got = [(r.get("won"), r.get("last")) for r in results]
    assert got == [(True, None), (True, PREVIOUS)], explain(
        expected=f"both win: tick {PREVIOUS} (never run) and then tick {TICK}, "
        f"which finds {PREVIOUS} last run",
        got=f"late: {results[0]}; on time (it said {said!r} first): {results[1]}",
        usually=f"tick {TICK} was lost: nobody ran it. A claim that finds the lock "
        "busy gives up (LOCK_NB) as if the holder ran the same tick, but the holder "
        "may be claiming another tick: wait for the lock, then compare"
        if got[1][0] is False else "the on-time process read the record while the "
        "late one was between its read and its write: the claim is not one step "
        "under the file's lock",
    )
