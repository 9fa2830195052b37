"""What a web request pays to hand off one task: enqueue cost, side by side.

Every row times the same thing: a loop that enqueues ``noop(i)`` ``n`` times,
with the consuming side idle, so the number is the enqueue and nothing else.
In-process pools have every worker held on a gate (tasks pile up in the queue,
none runs); Huey has no consumer; RQ and Celery have no worker; django-tasks-db
has no ``db_worker``. Each repeat starts from a fresh, identical state (a new
pool with its workers held, an empty broker), and the garbage collector is off
while the loop runs. The reported figure is the median over the repeats.

``queue.Queue.put`` of the tuple a pool would store is the floor: no
in-process design that queues a task under a lock can be much cheaper.

The Django rows run in a subprocess (``benchmarks.django_enqueue``) because
Django is configured once per process.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from dualqueue import SystemClock, TaskSystem, WorkerPool

from .measure import Gate, Timed, interleaved, per_op_ns, ratio, skipped

__all__ = ["SIZES", "noop", "redis_server", "run", "submit_breakdown"]

# (tasks per repeat, repeats), per kind of row: a broker round trip is ~1000x an in-
# process put.
SIZES = {
    "full": {"in_process": (20_000, 7), "broker": (500, 5)},
    "quick": {"in_process": (5_000, 3), "broker": (200, 3)},
}

ROOT = Path(__file__).resolve().parent.parent


def noop(i: int) -> None:
    """The task every row enqueues: importable by path, so brokers can name it."""


# -- in-process rows ---------------------------------------------------------


# --8<-- [start:floor]
@contextmanager
def queue_put() -> Iterator[Timed]:
    """The floor: ``queue.Queue.put`` of the tuple a pool stores, into a queue nobody
    reads."""
    box: dict[str, queue.Queue[Any]] = {}

    def before() -> None:
        box["q"] = queue.Queue()

    def loop(n: int) -> None:
        put = box["q"].put
        for i in range(n):
            put((noop, (i,), {}, time.monotonic(), 0))

    yield Timed(loop, before, box.clear)


# --8<-- [end:floor]


# --8<-- [start:pool-submit]
@contextmanager
def pool_submit() -> Iterator[Timed]:
    """``WorkerPool.submit`` on a 2-worker pool, both workers held on a gate."""
    state: dict[str, Any] = {}

    def before() -> None:
        pool, gate = WorkerPool("general", workers=2), Gate()
        for _ in range(2):
            pool.submit(gate.task)
        gate.wait_entered(2)
        state.update(pool=pool, gate=gate)

    def loop(n: int) -> None:
        submit = state["pool"].submit
        for i in range(n):
            submit(noop, i)

    def after() -> None:
        state["gate"].open()
        state["pool"].shutdown(
            timeout=None
        )  # runs the queued no-ops, then stops the workers

    yield Timed(loop, before, after)


# --8<-- [end:pool-submit]


@contextmanager
def system_submit() -> Iterator[Timed]:
    """``TaskSystem.submit("general", ...)`` on the seed system, general workers held on
    a gate."""
    state: dict[str, Any] = {}

    def before() -> None:
        tasks, gate = TaskSystem(general=2, site=10), Gate()
        for _ in range(2):
            tasks.submit("general", gate.task)
        gate.wait_entered(2)
        state.update(tasks=tasks, gate=gate)

    def loop(n: int) -> None:
        submit = state["tasks"].submit
        for i in range(n):
            submit("general", noop, i)

    def after() -> None:
        state["gate"].open()
        state["tasks"].shutdown(timeout=None)

    yield Timed(loop, before, after)


@contextmanager
def executor_submit() -> Iterator[Timed]:
    """``ThreadPoolExecutor(max_workers=2).submit``, both workers held on a gate."""
    state: dict[str, Any] = {}

    def before() -> None:
        executor, gate = ThreadPoolExecutor(max_workers=2), Gate()
        for _ in range(2):
            executor.submit(gate.task)
        gate.wait_entered(2)
        state.update(executor=executor, gate=gate)

    def loop(n: int) -> None:
        submit = state["executor"].submit
        for i in range(n):
            submit(noop, i)

    def after() -> None:
        state["gate"].open()
        state["executor"].shutdown(wait=True)

    yield Timed(loop, before, after)


@contextmanager
def huey_enqueue() -> Iterator[Timed]:
    """Huey ``MemoryHuey`` with default settings, no consumer: calling a task enqueues
    it."""
    from huey import MemoryHuey

    state: dict[str, Any] = {}

    def before() -> None:
        huey = MemoryHuey("bench")
        state.update(huey=huey, task=huey.task()(noop))

    def loop(n: int) -> None:
        task = state["task"]
        for i in range(n):
            task(i)

    yield Timed(loop, before, state.clear)


# -- broker rows ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[dict[str, Any]]:
    """A throwaway ``redis-server`` on loopback and a free port, stopped afterwards.

    Yields ``{"url": ...}``, or ``{"skipped": reason}`` when there is no
    ``redis-server`` binary or it does not come up.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        yield skipped(
            "no redis-server binary on PATH (Debian: apt-get install redis-server)"
        )
        return
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="dualqueue-bench-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
            "--protected-mode",
            "yes",
            "--logfile",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    yield skipped(f"redis-server did not start on 127.0.0.1:{port}")
                    return
                time.sleep(0.05)
        version = client.info("server").get("redis_version")
        client.close()
        yield {"url": f"redis://127.0.0.1:{port}/0", "port": port, "version": version}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def rq_enqueue(url: str) -> Iterator[Timed]:
    """RQ ``Queue.enqueue`` on Redis, no worker running."""
    import redis
    from rq import Queue

    connection = redis.Redis.from_url(url)
    rq_queue = Queue("bench", connection=connection)

    def loop(n: int) -> None:
        enqueue = rq_queue.enqueue
        for i in range(n):
            enqueue(noop, i)

    try:
        rq_queue.enqueue(noop, -1)  # open the connection outside the timed loop
        yield Timed(loop, connection.flushdb, connection.flushdb)
    finally:
        connection.flushdb()
        connection.close()


@contextmanager
def celery_delay(url: str) -> Iterator[Timed]:
    """Celery ``task.delay`` with a Redis broker, results ignored, no worker running."""
    import redis
    from celery import Celery

    app = Celery("bench", broker=url, set_as_current=False)
    app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)
    task = app.task(name="benchmarks.enqueue.noop")(noop)
    connection = redis.Redis.from_url(url)

    def loop(n: int) -> None:
        delay = task.delay
        for i in range(n):
            delay(i)

    try:
        task.delay(
            -1
        )  # open the connection and the producer pool outside the timed loop
        yield Timed(loop, connection.flushdb, connection.flushdb)
    finally:
        connection.flushdb()
        connection.close()
        app.close()


def _time_row(
    name: str, kind: str, factory: Callable[[], Any], n: int, repeats: int
) -> dict[str, Any]:
    try:
        with factory() as timed:
            measured = per_op_ns(
                timed.loop, n, repeats, before=timed.before, after=timed.after
            )
    except (
        Exception
    ) as exc:  # a row that cannot run is reported, never silently left out
        return {"name": name, "kind": kind, **skipped(f"{type(exc).__name__}: {exc}")}
    return {"name": name, "kind": kind, **measured}


DJANGO_ROWS = [
    ("Django Tasks -> DualqueueBackend (memory store)", "dualqueue"),
    ("Django Tasks -> DualqueueBackend (database store)", "dualqueue"),
    ("Django ImmediateBackend (runs inline)", "in-process"),
    ("django-tasks-local ThreadPoolBackend", "in-process"),
    ("django-tasks-db (SQLite)", "broker"),
]


def django_python() -> str:
    """The interpreter of the Django rows: ``DUALQUEUE_BENCH_DJANGO_PYTHON``, else the
    Django 6.1 virtualenv's (``make setup-django61``), else this one. On Django 6.1
    every row runs, django-tasks-local's included."""
    chosen = os.environ.get("DUALQUEUE_BENCH_DJANGO_PYTHON")
    if chosen:
        return chosen
    django61 = ROOT / ".venv-django61" / "bin" / "python"
    return str(django61) if django61.exists() else sys.executable


def _django_rows(
    n: int, repeats: int, broker_n: int, broker_repeats: int
) -> list[dict[str, Any]]:
    """The Django Tasks rows, measured in a child process (Django is configured once per
    process)."""
    command = [
        django_python(),
        "-m",
        "benchmarks.django_enqueue",
        "--n",
        str(n),
        "--repeats",
        str(repeats),
        "--broker-n",
        str(broker_n),
        "--broker-repeats",
        str(broker_repeats),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop(
        "DJANGO_SETTINGS_MODULE", None
    )  # the child configures Django itself, with minimal settings
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        reason = skipped("the Django child process timed out")
        return [{"name": name, "kind": kind, **reason} for name, kind in DJANGO_ROWS]
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [
            {"name": name, "kind": kind, **skipped(f"Django child failed: {tail}")}
            for name, kind in DJANGO_ROWS
        ]
    rows: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def run(
    quick: bool = False,
    *,
    sizes: dict[str, tuple[int, int]] | None = None,
    django: bool = True,
    brokers: bool = True,
) -> dict[str, Any]:
    """Measure every enqueue row in one run; ratios are against ``queue.Queue.put`` of
    this run."""
    size = sizes or SIZES["quick" if quick else "full"]
    n, repeats = size["in_process"]
    broker_n, broker_repeats = size["broker"]
    in_process = {
        "queue.Queue.put (floor)": ("floor", queue_put),
        "WorkerPool.submit": ("dualqueue", pool_submit),
        "TaskSystem.submit": ("dualqueue", system_submit),
        "ThreadPoolExecutor.submit": ("in-process", executor_submit),
        "Huey MemoryHuey enqueue": ("in-process", huey_enqueue),
    }
    with ExitStack() as stack:
        timed = {
            name: stack.enter_context(factory())
            for name, (_, factory) in in_process.items()
        }
        measured = interleaved(timed, n, repeats)
    rows = [
        {"name": name, "kind": kind, **measured[name]}
        for name, (kind, _) in in_process.items()
    ]
    redis_info: dict[str, Any]
    if brokers:
        with redis_server() as server:
            redis_info = dict(server)
            if "skipped" in server:
                for name in ("RQ enqueue (Redis)", "Celery delay (Redis)"):
                    rows.append(
                        {"name": name, "kind": "broker", **skipped(server["skipped"])}
                    )
            else:
                url = server["url"]
                for name, factory in (
                    ("RQ enqueue (Redis)", rq_enqueue),
                    ("Celery delay (Redis)", celery_delay),
                ):
                    rows.append(
                        _time_row(
                            name,
                            "broker",
                            lambda f=factory: f(url),
                            broker_n,
                            broker_repeats,
                        )
                    )
    else:
        redis_info = skipped("brokers not requested")
        for name in ("RQ enqueue (Redis)", "Celery delay (Redis)"):
            rows.append(
                {"name": name, "kind": "broker", **skipped("brokers not requested")}
            )
    if django:
        # Through the Django Tasks API each enqueue costs ~100x a put: fewer tasks give
        # the same precision.
        rows.extend(
            _django_rows(min(n, 5_000), min(repeats, 5), broker_n, broker_repeats)
        )
    floor = next(r for r in rows if r["name"].startswith("queue.Queue.put"))["ns"]
    for row in rows:
        if "ns" in row:
            row["us"] = round(row["ns"] / 1000, 3)
            row["x_floor"] = ratio(row["ns"], floor)
    return {
        "rows": rows,
        "redis": redis_info,
        "breakdown": submit_breakdown(n, repeats),
        "note": (
            "medians of per-task time; workers held or absent, "
            "so only the enqueue is timed"
        ),
    }


# -- where the time of one submit goes -----------------------------------------


def submit_breakdown(n: int = 20_000, repeats: int = 5) -> dict[str, float]:
    """Nanoseconds of each step ``WorkerPool.submit`` takes, timed one by one (for
    diagnosis).

    Each entry is a loop doing only that step, minus nothing: compare them with
    each other and with the whole submit, not as exact parts of a sum.
    """
    from threading import Condition, Lock

    clock = SystemClock()
    lock = Lock()
    not_empty = Condition(lock)
    items: deque[Any] = deque()
    pools = {"general": object(), "site": object()}
    args: tuple[Any, ...] = (1,)
    kwargs: dict[str, Any] = {}

    def empty_loop(k: int) -> None:
        for _ in range(k):
            pass

    def is_callable(k: int) -> None:
        for _ in range(k):
            callable(noop)

    def lock_round_trip(k: int) -> None:
        for _ in range(k):
            with lock:
                pass

    def clock_now(k: int) -> None:
        now = clock.now
        for _ in range(k):
            now()

    def build_and_append(k: int) -> None:
        append = items.append
        for _ in range(k):
            append((noop, args, kwargs, 0.0, 0))
        items.clear()

    def notify_nobody(k: int) -> None:
        with not_empty:
            for _ in range(k):
                not_empty.notify()

    def pool_lookup(k: int) -> None:
        for _ in range(k):
            pools["general"]

    def repack_call(k: int) -> None:
        def inner(fn: Any, /, *a: Any, **kw: Any) -> None:
            pass

        def outer(queue: str, fn: Any, /, *a: Any, **kw: Any) -> None:
            inner(fn, *a, **kw)

        for i in range(k):
            outer("general", noop, i)

    steps = {
        "empty loop iteration": empty_loop,
        "callable(fn)": is_callable,
        "with lock: pass": lock_round_trip,
        "clock.now() (SystemClock)": clock_now,
        "build item tuple + deque.append": build_and_append,
        "Condition.notify() with no waiter": notify_nobody,
        "TaskSystem: dict lookup of the pool": pool_lookup,
        "TaskSystem: extra call re-packing *args/**kwargs": repack_call,
    }
    return {
        name: round(per_op_ns(loop, n, repeats)["ns"], 1)
        for name, loop in steps.items()
    }
