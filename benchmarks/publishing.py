"""Does publishing a process's picture cost the request path anything?

Run: ``python -m benchmarks.publishing``.

Configures Django in this process with ``dualqueue.django`` publishing its picture every
50 ms (40x the default rate) into a temporary folder, then times ``TaskSystem.submit``
(general workers held on a gate, exactly as ``benchmarks.enqueue`` does) against
``queue.Queue.put``, interleaved in the same run, and prints both and their ratio. The
target is the project's: submit within 2x of ``queue.Queue.put``. It prints ratios,
never asserts a time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="submits per timed run")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per row")
    parser.add_argument(
        "--interval", type=float, default=0.05, help="seconds between publishes"
    )
    args = parser.parse_args(argv)

    import django
    from django.conf import settings

    folder = tempfile.mkdtemp(prefix="dualqueue-publishing-")
    settings.configure(
        INSTALLED_APPS=["django_tasks", "dualqueue.django"],
        DATABASES={},
        DUALQUEUE={
            "POOLS": {"general": 2, "site": 10},
            "PROCESSES_DIR": folder,
            "PUBLISH_INTERVAL": args.interval,
        },
        LOGGING_CONFIG=None,
    )
    django.setup()
    from dualqueue.django import registry

    from . import enqueue
    from .measure import interleaved

    registry.get_task_system()  # starts this process's publisher
    time.sleep(5 * args.interval)
    with ExitStack() as stack:
        rows = {
            "queue.Queue.put": stack.enter_context(enqueue.queue_put()),
            "TaskSystem.submit": stack.enter_context(enqueue.system_submit()),
        }
        out = interleaved(rows, n=args.n, repeats=args.repeats)
    put, submit = out["queue.Queue.put"]["ns"], out["TaskSystem.submit"]["ns"]
    published = len(
        [name for name in os.listdir(folder) if name.endswith(".process.json")]
    )
    print(
        f"publishing every {args.interval * 1000:.0f} ms "
        f"({published} picture in {folder}), "
        f"{args.repeats} interleaved runs of {args.n}, medians:"
    )
    print(f"  queue.Queue.put    {put / 1000:8.3f} us")
    print(
        f"  TaskSystem.submit  {submit / 1000:8.3f} us   "
        f"{submit / put:.2f}x queue.Queue.put (target: within 2x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
