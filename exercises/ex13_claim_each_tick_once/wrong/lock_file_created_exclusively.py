"""Wrong: the lock is a ``<name>.lock`` file created with ``O_EXCL`` and removed in a ``finally`` block.

The classic portable lock, and it excludes correctly while every process
behaves. But a process killed in the middle of its claim (the OOM killer,
gunicorn's worker timeout, a deploy's SIGKILL) runs no ``finally`` block: the
lock file stays, and no process ever claims that task again. A lease nobody
releases is a periodic task that silently stops.

Kind: race
Caught by: test_a_process_killed_mid_claim_does_not_stop_the_others
Message mentions: never released
"""

from __future__ import annotations

import json
import os
import time
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
        lock = self.directory / f"{name}.lock"
        while True:
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                break
            except FileExistsError:
                time.sleep(0.01)  # another process holds it: wait
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
            lock.unlink()
