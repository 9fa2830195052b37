"""Wrong: the file is locked to read and compare, and unlocked before the write.

"Hold a lock as briefly as possible" is good advice, misapplied: between the
unlock and the write, another process locks, reads the old record, and wins
the same tick.

Kind: race
Caught by: test_two_processes_claiming_one_tick_at_once_run_it_once
Message mentions: released before the write
"""

from __future__ import annotations

import fcntl
import json
import os
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

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.claim"

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Run ``tick`` of ``name`` here? Yes for exactly one process of the host."""
        fd = os.open(self.path(name), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last, skipped = read_record(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)  # the decision is made: let the others in
            if last is not None and last >= tick:
                return Claim(False, last, skipped)
            skipped += skipped_between(last, tick, previous)
            write_record(fd, tick, skipped)
            return Claim(True, last, skipped)
        finally:
            os.close(fd)
