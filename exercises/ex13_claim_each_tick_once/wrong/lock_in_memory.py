"""Wrong: read-compare-write is guarded by a ``threading.Lock``, not by a lock on the file.

It is right in one process, and any test with threads passes. But a
``threading.Lock`` lives in one process's memory: each gunicorn worker has its
own, so two workers waking at the same tick both read the old record, and both
run the tick.

Kind: race
Caught by: test_two_processes_claiming_one_tick_at_once_run_it_once
Message mentions: both processes ran the tick
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

RECORD = 128  # bytes: a record is always written as one block of this size, at offset 0


@dataclass(frozen=True)
class Claim:
    """A claim's answer: ``won`` (this process runs the tick), the ``last`` tick run
    before this claim (None: never), and the ticks counted as ``skipped`` so far."""

    won: bool
    last: float | None
    skipped: int


def read_record(fd: int) -> tuple[float | None, int]:
    """The last tick run and the skipped count stored in the open file ``fd``."""
    text = os.pread(fd, RECORD, 0).decode().strip()
    if not text:
        return None, 0  # a new file: this name never ran
    record = json.loads(text)
    return record["last"], record["skipped"]


def write_record(fd: int, last: float, skipped: int) -> None:
    """Store ``last`` and ``skipped`` in ``fd``: one write of one block, never half."""
    record = {"last": last, "skipped": skipped, "pid": os.getpid()}
    os.pwrite(fd, json.dumps(record).encode().ljust(RECORD), 0)


def skipped_between(last: float | None, tick: float, previous: float | None) -> int:
    """How many ticks fell strictly between ``last`` and ``tick`` (evenly spaced)."""
    if last is None or previous is None or last >= previous:
        return 0
    return round((tick - last) / (tick - previous)) - 1


class FileClaims:
    """Claims in the files ``<directory>/<name>.claim``, for the processes of one host."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.claim"

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Run ``tick`` of ``name`` here? Yes for exactly one process of the host."""
        with self._lock:  # one claim at a time
            fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                last, skipped = read_record(fd)
                if last is not None and last >= tick:
                    return Claim(False, last, skipped)
                skipped += skipped_between(last, tick, previous)
                write_record(fd, tick, skipped)
                return Claim(True, last, skipped)
            finally:
                os.close(fd)
