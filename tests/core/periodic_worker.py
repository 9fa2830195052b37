"""One real process of ``test_periodic_processes.py``: a periodic task on ``FileClaims``.

Run as ``python -m tests.core.periodic_worker CLAIMS_DIR LOG``. Every line it
appends to LOG is one ``os.write`` to a file opened with ``O_APPEND`` (whole
lines, never interleaved): ``intent PID TICK`` before each claim, ``run PID
TICK`` when the task of a won tick runs. It runs until killed.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque

from dualqueue import Claim, Every, FileClaims, TaskSystem

INTERVAL = 0.2


def main(directory: str, log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    pid = os.getpid()
    won: deque[float] = deque()  # ticks won, in order: the one-worker pool runs them in order

    def write(line: str) -> None:
        os.write(fd, f"{line}\n".encode())

    class Logged(FileClaims):
        def claim(self, name: str, tick: float, previous: float | None) -> Claim:
            write(f"intent {pid} {tick!r}")
            claim = super().claim(name, tick, previous)
            if claim.won:
                won.append(tick)
            return claim

    def beat() -> None:
        write(f"run {pid} {won.popleft()!r}")

    tasks = TaskSystem(general=1, site=1)
    tasks.every("beat", Every(INTERVAL), beat, claims=Logged(directory))
    write(f"ready {pid} 0")
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
