"""Tasks the time end-to-end test runs in the demo's gunicorn workers: each run appends one line to a file.

The file is ``E2E_TIME_RECORD`` (set in the servers' environment). Each line is written with one
``write`` on a descriptor opened with ``O_APPEND``, so lines from several processes never interleave:
the test counts the lines per tick and per deferred task, which says how many times each ran.
"""

from __future__ import annotations

import json
import os
import time

try:
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from django_tasks import task


def _append(record: dict[str, object]) -> None:
    line = (json.dumps(record) + "\n").encode()
    fd = os.open(os.environ["E2E_TIME_RECORD"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@task()
def record_tick() -> None:
    """One tick of the periodic entry ``e2e-tick``: when it ran, and in which process."""
    _append({"kind": "tick", "at": time.time(), "pid": os.getpid()})


@task()
def record_deferred(label: str) -> None:
    """A deferred task: which one ran, when, in which process."""
    _append({"kind": "deferred", "label": label, "at": time.time(), "pid": os.getpid()})
