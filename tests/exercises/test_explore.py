"""The exercises' interleaving explorer finds the lost update it exists to find, and only where it exists."""

from __future__ import annotations

import sys
import threading

from exercises.explore import clearest, locks_held, preemptions

FILES = [__file__]


class Unlocked:
    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1


class Locked:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


def add(counter: Unlocked | Locked) -> None:
    counter.add()


def test_an_unlocked_increment_loses_an_update_when_preempted_between_read_and_write() -> None:
    explored = preemptions(Unlocked, add, add, files=FILES)
    lost = [p for p in explored if p.subject.count != 2]
    assert explored and lost, "the explorer missed the lost update of an unlocked += 1"
    assert "self.count += 1" in clearest(lost).where
    assert not any(p.waited for p in explored), "nothing was locked, so nothing had to wait"


def test_a_locked_increment_loses_nothing_and_the_explorer_lets_the_lock_decide() -> None:
    explored = preemptions(Locked, add, add, files=FILES)
    assert explored and all(p.subject.count == 2 for p in explored)
    assert any(p.waited for p in explored), "some preemptions fall inside the lock: the second caller must wait"


def test_locks_held_sees_a_lock_held_by_another_thread_and_leaves_it_as_it_was() -> None:
    counter = Locked()
    assert not locks_held(counter)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with counter._lock:
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        assert locks_held(counter)
    finally:
        release.set()
        thread.join(10)
    assert not locks_held(counter) and not counter._lock.locked()


class Refusing:
    """Raises from inside a ``with`` block: its cleanup runs instructions that have no line number (3.11)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refused: list[str] = []  # append is one call: the explorer cannot split it

    def submit(self) -> None:
        with self._lock:
            raise LookupError("full")


def refuse(subject: Refusing) -> None:
    try:
        subject.submit()
    except LookupError:
        subject.refused.append("refused")


def test_stopping_in_a_with_blocks_cleanup_while_an_exception_is_raised_is_described() -> None:
    # Regression: _describe() passed f_lineno=None to linecache and the exploring thread died of a TypeError.
    explored = preemptions(Refusing, refuse, refuse, files=FILES)
    assert explored and all(len(p.subject.refused) == 2 for p in explored)
    assert all(p.where and "line None" not in p.where for p in explored), [p.where for p in explored]
    assert any("cleanup" in p.where for p in explored) or sys.version_info >= (3, 12), "3.11 stops in the cleanup"
    assert any("submit()" in p.where for p in explored)
