"""The demo's settings plus one periodic entry on a short interval, for ``tests/e2e/test_time_across_processes.py``."""

import os

from demo.settings import *  # noqa: F403
from demo.settings import DUALQUEUE

DUALQUEUE = {
    **DUALQUEUE,
    "PERIODIC": {
        **DUALQUEUE["PERIODIC"],
        "e2e-tick": {"task": "tests.e2e.time_tasks.record_tick", "every": float(os.environ.get("E2E_TICK_EVERY", "2"))},
    },
}
