"""One Django process of the result-store tests: ``python -m tests.django.processes.worker COMMAND [ARGS]``.

``migrate``; ``enqueue LABEL...`` (run ``record_run`` for each, wait, write, print the ids, exit);
``hold`` (enqueue a task that waits on a gate forever, write its RUNNING row, print its id, then
wait to be killed); ``read ID...`` (print each result's status, return value and error classes).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django.processes.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from dualqueue.django import registry
    from dualqueue.django.compat import TaskResultDoesNotExist, TaskResultStatus, task_backends

    from tests.django import tasks

    command, args = argv[0], argv[1:]
    store = registry.result_store("default")
    if command == "migrate":
        call_command("migrate", "--no-input", "-v", "0")
    elif command == "enqueue":
        results = [tasks.record_run.enqueue(label) for label in args]
        assert registry.join(30.0) and store.flush(30.0)
        print(json.dumps([r.id for r in results]), flush=True)
    elif command == "hold":
        tasks.DEADLOCK = 600.0  # the gate never opens; the test kills this process long before
        tasks.gate("never")  # never opened: the task stays RUNNING until this process dies
        result = tasks.wait_at_gate.enqueue("never")
        assert tasks.ENTERED["never"].wait(30.0)
        deadline = time.monotonic() + 30
        while task_backends["default"].get_result(result.id).status != TaskResultStatus.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert store.flush(30.0)
        print(json.dumps([result.id, os.getpid()]), flush=True)
        time.sleep(600)  # until the test kills this process
    elif command == "read":
        seen = {}
        for result_id in args:
            try:
                r = task_backends["default"].get_result(result_id)
            except TaskResultDoesNotExist:
                seen[result_id] = None
                continue
            value = r.return_value if r.status == TaskResultStatus.SUCCESSFUL else None
            seen[result_id] = [str(r.status), value, [e.exception_class_path for e in r.errors], r.worker_ids]
        lost = [item.result_id for item in store.lost()]
        print(json.dumps({"results": seen, "lost": lost, "pid": os.getpid()}), flush=True)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
