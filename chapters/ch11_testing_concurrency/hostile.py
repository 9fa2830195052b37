"""Hostile tasks: the user code a task library cannot trust, generated.

The other properties of this chapter prove the invariants for well-behaved
tasks: they return, or raise a ``RuntimeError`` with a short message. Users
write worse. An outside review broke every promise of the core with code like
this, each a few lines long:

* exceptions of every ``BaseException`` kind (``SystemExit``,
  ``KeyboardInterrupt``, ``GeneratorExit``, a user's own subclass), whose
  ``__str__`` or ``__repr__`` raises, blocks, recurses, returns bytes or a
  megabyte, or reads the very pool that is recording it;
* callables with no usable name: partials, lambdas, callable objects, names
  that are properties which raise or which read the pool;
* retry policies at their limits: a factor that overflows a float after three
  failures, a ``delay`` that returns NaN or infinity or raises;
* tasks and debouncer callbacks that call back into their own system
  (``submit``, ``snapshot``, ``join``, ``shutdown``, ``trigger``, ``flush``,
  ``cancel``), that fork, that block;
* log handlers (the pool logs every failure) that raise or block.

So the strategies below generate *behaviours*, as plain data that hypothesis
can print and shrink (``TaskSpec``, ``ErrorSpec``...), and ``build_task``
turns each into the hostile callable it describes. ``check_hostile_workload``
runs a generated workload on a ``TaskSystem`` and judges it. For every
workload:

* no worker dies: ``alive_workers == workers`` while a pool is open;
* every snapshot satisfies ``submitted == queued + running + succeeded +
  failed + dropped``, and is JSON text;
* ``join`` and ``shutdown`` return within their timeout plus ``GRACE``
  seconds, and raise ``RuntimeError`` at once when a pool's own task calls
  them (measured as a deadlock detector, never as a latency claim);
* nothing is lost uncounted: every attempt that returned is a ``succeeded``,
  every task ends succeeded, failed or dropped, every drop is named in exactly
  one ``ShutdownReport``, and every item triggered is delivered once or
  counted as dropped by its debouncer.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from dualqueue import (
    Debouncer,
    PoolClosedError,
    Retry,
    ShutdownReport,
    SystemClock,
    TaskSystem,
    WorkerPool,
)
from hypothesis import given, settings
from hypothesis import strategies as st

__all__ = [
    "GRACE",
    "HANG",
    "Subject",
    "Workload",
    "check_hostile_workload",
    "hostile_property",
    "workloads",
]

HANG = 5.0  # seconds: a deadlock detector for one call, never a latency claim
GRACE = 1.5  # seconds a join or shutdown may take beyond its own timeout
CLOCK = SystemClock()  # one clock for every example: a callback that kills it fails all
WAIT = 0.001  # the debouncer's quiet window, in real seconds
FOLLOW = 1_000_000  # items a callback triggers itself are numbered from here


# --8<-- [start:kinds]
class UserBase(BaseException):
    """A user's own BaseException: ``except Exception`` misses it."""


class UserError(Exception):
    """A user's own Exception."""


KINDS: dict[str, type[BaseException]] = {
    kind.__name__: kind
    for kind in (
        RuntimeError,
        ValueError,
        OverflowError,
        RecursionError,
        MemoryError,
        SystemExit,
        KeyboardInterrupt,
        GeneratorExit,
        BaseException,
        UserBase,
        UserError,
        BaseExceptionGroup,
    )
}
# What a dunder method of a hostile exception or callable does instead of answering.
TEXTS = [
    "plain",
    "empty",
    "huge",
    "many-lines",
    "not-text",
    "recurses",
    "blocks",
    "reads-pool",
    *(f"raises {kind}" for kind in KINDS),
]
# --8<-- [end:kinds]


@dataclass(frozen=True)
class ErrorSpec:
    """An exception class: its base, and what its ``__str__`` and ``__repr__`` do."""

    kind: str
    str_: str = "plain"
    repr_: str = "plain"
    notes: bool = False  # ``__notes__`` that is not a list of strings


@dataclass(frozen=True)
class PolicySpec:
    """A retry policy at its limits, or a subclass whose methods misbehave."""

    attempts: int
    factor: float
    fails_first: int  # the task raises on its first attempts, then returns
    delay: str = (
        "real"  # or what an overridden ``delay`` does: "nan", "inf", "raises ..."
    )


@dataclass(frozen=True)
class TaskSpec:
    """One hostile task: how it is named, what it calls back, how it ends."""

    queue: str
    shape: str
    calls: tuple[str, ...] = ()
    error: ErrorSpec | None = None  # None: it returns
    policy: PolicySpec | None = None
    blocks: bool = False


@dataclass(frozen=True)
class Workload:
    """A whole example: pools, tasks, a debouncer callback, a log handler."""

    general: int
    site: int
    tasks: tuple[TaskSpec, ...]
    callback: TaskSpec
    handler: str
    release_first: bool  # release blocked code before the shutdown, or after it
    timeout: float  # the final shutdown's


@dataclass(frozen=True)
class Subject:
    """The classes under test: the reference, or a broken variant of one of them.

    The system builds the debouncer (``TaskSystem.debouncer``), so a broken
    debouncer comes with a system subclass that builds it.
    """

    pool: type[WorkerPool] = WorkerPool
    system: type[TaskSystem] = TaskSystem


# -- the strategies -----------------------------------------------------------------

# --8<-- [start:strategies]
errors = st.builds(
    ErrorSpec,
    kind=st.sampled_from(sorted(KINDS)),
    str_=st.sampled_from(TEXTS),
    repr_=st.sampled_from(TEXTS),
    notes=st.booleans(),
)
SHAPES = [
    "function",
    "lambda",
    "partial",
    "object",
    "method",
    "nameless",
    "names-raise",
    "names-read-pool",
    "names-not-text",
    "task-name-raises",
]
CALLS = [
    "submit",
    "submit-other",
    "snapshot",
    "join",
    "join-system",
    "shutdown",
    "shutdown-system",
    "shutdown-other",
    "join-other",
    "trigger",
    "flush",
    "cancel",
    "fork",
]
policies = st.builds(
    PolicySpec,
    attempts=st.sampled_from([1, 2, 5, 10**6, 2**63]),
    factor=st.sampled_from([1.0, 2.0, 1e308, math.inf]),
    fails_first=st.integers(0, 4),
    delay=st.sampled_from(["real", "real", "nan", "inf", "-1", "raises SystemExit"]),
)


def tasks(queues: tuple[str, ...] = ("general", "site")) -> st.SearchStrategy[TaskSpec]:
    return st.builds(
        TaskSpec,
        queue=st.sampled_from(queues),
        shape=st.sampled_from(SHAPES),
        calls=st.lists(st.sampled_from(CALLS), max_size=3).map(tuple),
        error=st.none() | errors,
        policy=st.none() | policies,
        blocks=st.booleans(),
    )


HANDLERS = [
    "none",
    "blocks",
    "reads-pool",
    "filter-raises",
    *(f"raises {k}" for k in KINDS),
]
workloads = st.builds(
    Workload,
    general=st.integers(1, 3),
    site=st.integers(1, 3),
    tasks=st.lists(tasks(), max_size=8).map(tuple),
    callback=tasks(("general",)),
    handler=st.sampled_from(HANDLERS),
    release_first=st.booleans(),
    timeout=st.sampled_from([0.0, 0.01, 0.05]),
)
# --8<-- [end:strategies]


# -- from behaviour to hostile code ----------------------------------------------------


@dataclass
class Run:
    """One example's world, shared by the hostile code and the judge."""

    system: TaskSystem
    debouncer: Debouncer | None = None
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    returned: dict[str, int] = field(default_factory=lambda: {"general": 0, "site": 0})
    raised: dict[str, int] = field(default_factory=lambda: {"general": 0, "site": 0})
    callback_runs: int = 0
    cancelled: int = 0  # items the hostile code itself cancelled
    early: bool = False  # hostile code shut a pool down before the judge did
    triggered: list[int] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    reports: list[tuple[str | None, ShutdownReport]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    serial: int = 0

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def next_item(self) -> int:
        with self.lock:
            self.serial += 1
            return self.serial

    def hold(self) -> None:
        """Block until the judge releases the example (a hung call to a service)."""
        self.release.wait(HANG)


def make(kind: str, message: str) -> BaseException:
    """An exception of the named kind (a group needs its list of exceptions)."""
    base = KINDS[kind]
    if issubclass(base, BaseExceptionGroup):
        return base(message, [UserError(message)])
    return base(message)


def answer(how: str, run: Run, plain: str) -> Any:
    """What a hostile ``__str__``, ``__repr__`` or name attribute gives back."""
    if how.startswith("raises "):
        raise make(how.removeprefix("raises "), "from a dunder")
    if how == "empty":
        return ""
    if how == "huge":
        return "x" * 1_000_000
    if how == "many-lines":
        return "\n" * 1000 + plain
    if how == "not-text":
        return b"bytes, not text"
    if how == "recurses":
        return answer(how, run, plain)
    if how == "blocks":
        run.hold()
    if how == "reads-pool":  # deadlocks if called under the pool's mutex
        run.system["general"].snapshot()
    return plain


def build_error(spec: ErrorSpec, run: Run) -> BaseException:
    base = KINDS[spec.kind]
    namespace = {
        "__str__": lambda self: answer(spec.str_, run, "hostile"),
        "__repr__": lambda self: answer(spec.repr_, run, "Hostile()"),
        "__eq__": lambda self, other: answer("raises RuntimeError", run, ""),
        "__hash__": lambda self: 1,
    }
    cls = type(f"Hostile{spec.kind}", (base,), namespace)
    group = issubclass(base, BaseExceptionGroup)
    exc = cls("hostile", [UserError("inside")]) if group else cls("hostile")
    if spec.notes:
        exc.__notes__ = 42  # type: ignore[attr-defined]
    return exc


NAMES = ("__name__", "__qualname__", "__module__")


def shaped(shape: str, body: Callable[..., None], run: Run) -> Callable[..., None]:
    """``body`` dressed as a callable with the given kind of name (or none)."""
    if shape == "function":
        return body
    if shape == "lambda":
        return lambda *args: body(*args)
    if shape == "partial":
        return functools.partial(functools.partial(body))
    if shape == "method":
        return Caller(body).call
    return HostileCallable(shape, body, run)


class Caller:
    def __init__(self, body: Callable[..., None]) -> None:
        self.body = body

    def call(self, *args: Any) -> None:
        self.body(*args)


class HostileCallable:
    """A callable whose names are missing, raise, read the pool or are not text."""

    __slots__ = ("body", "run", "shape")
    # No module, and an instance has no __name__ or __qualname__ of its own.
    __module__ = None  # type: ignore[assignment]

    def __init__(self, shape: str, body: Callable[..., None], run: Run) -> None:
        self.shape, self.body, self.run = shape, body, run

    def __call__(self, *args: Any) -> None:
        object.__getattribute__(self, "body")(*args)

    def __getattribute__(self, name: str) -> Any:
        shape = object.__getattribute__(self, "shape")
        run = object.__getattribute__(self, "run")
        if name == "task_name" and shape == "task-name-raises":
            return answer("raises KeyboardInterrupt", run, "")
        if name in NAMES and shape != "nameless":
            how = {
                "names-raise": "raises SystemExit",
                "names-read-pool": "reads-pool",
                "names-not-text": "not-text",
            }.get(shape)
            if how == "not-text":
                return 42
            if how is not None:
                return answer(how, run, "hostile")
        return object.__getattribute__(self, name)


def build_task(spec: TaskSpec, run: Run) -> Callable[[], None]:
    """The hostile callable ``spec`` describes, ready to submit to ``spec.queue``."""
    attempts = [0]

    def body() -> None:
        attempts[0] += 1
        for call in spec.calls:
            call_back(call, spec.queue, run)
        if spec.blocks:
            run.hold()
        failing = spec.error is not None
        if spec.policy is not None:
            failing = attempts[0] <= spec.policy.fails_first
        with run.lock:
            (run.raised if failing else run.returned)[spec.queue] += 1
        if failing:
            raise build_error(spec.error or ErrorSpec("RuntimeError"), run)

    task = shaped(spec.shape, body, run)
    if spec.policy is not None:
        task = with_policy(spec.policy, task)
    return task


def with_policy(spec: PolicySpec, task: Callable[[], None]) -> Callable[[], None]:
    """``task`` wrapped in a retry policy at its limits (zero real delay)."""

    class Policy(Retry):
        def delay(self, failures: int) -> float:
            if spec.delay == "real":
                return super().delay(failures)
            if spec.delay.startswith("raises "):
                raise make(spec.delay.removeprefix("raises "), "from a policy")
            return {"nan": math.nan, "inf": math.inf, "-1": -1.0}[spec.delay]

    try:
        policy = Policy(
            attempts=spec.attempts, base_delay=1e-300, factor=spec.factor, max_delay=0.0
        )
    except (ValueError, TypeError):  # refused at construction, as it should be
        policy = Policy(attempts=spec.attempts, base_delay=0.0, max_delay=0.0)
    try:
        return policy(task)
    except (
        BaseException
    ):  # a wrapper may refuse a callable whose names raise: at the caller
        return task


def build_callback(spec: TaskSpec, run: Run) -> Callable[[list[Any]], None]:
    """A debouncer callback as hostile as a task (it runs on the general pool)."""

    def callback(batch: list[Any]) -> None:
        with run.lock:
            run.callback_runs += 1
            run.delivered.extend(batch)
        for call in spec.calls:
            if call == "trigger" and not any(item < FOLLOW for item in batch):
                continue  # a follow-up's run triggers nothing: the chain ends
            call_back(call, "general", run, item_base=FOLLOW)
        if spec.blocks:
            run.hold()
        if spec.error is not None:
            raise build_error(spec.error, run)

    return shaped(spec.shape, callback, run)


# --8<-- [start:call-back]
def call_back(call: str, queue: str, run: Run, item_base: int = 0) -> None:
    """Hostile code calling into the system that runs it. Judges what each call did."""
    system, other = run.system, "site" if queue == "general" else "general"
    mine = system[queue]
    if call in ("submit", "submit-other"):
        target = queue if call == "submit" else other
        # Refused at the caller (PoolClosedError) is not counted, and nothing is lost.
        with suppress(PoolClosedError):
            system.submit(target, build_task(TaskSpec(target, "function"), run))
    elif call == "snapshot":
        judge_picture(system.snapshot(), run, "a task's snapshot")
    elif call in ("join", "shutdown", "join-system", "shutdown-system"):
        own = mine if call in ("join", "shutdown") else system
        method = own.join if call.startswith("join") else own.shutdown
        started = time.monotonic()
        try:
            result = method(timeout=0.05)
        except RuntimeError:
            took = time.monotonic() - started
            if took > GRACE:
                run.problem(f"{call} from its own worker raised only after {took:.1f}s")
        else:
            if isinstance(result, ShutdownReport):
                run.reports.append((queue if call == "shutdown" else None, result))
                run.early = True
            run.problem(
                f"{call} from its own worker returned {result!r}, not RuntimeError"
            )
    elif call in ("join-other", "shutdown-other"):
        started = time.monotonic()
        if call == "join-other":
            system[other].join(timeout=0.01)
        else:
            run.reports.append((other, system[other].shutdown(timeout=0.01)))
            run.early = True
        if time.monotonic() - started > 0.01 + GRACE:
            run.problem(
                f"{call} took {time.monotonic() - started:.1f}s for a 0.01s timeout"
            )
    elif call == "trigger":
        item = item_base + run.next_item()
        assert run.debouncer is not None
        try:
            run.debouncer.trigger(item)
        except PoolClosedError:  # refused at the caller: it was never accepted
            return
        with run.lock:
            run.triggered.append(item)
    elif call == "flush":
        assert run.debouncer is not None
        run.debouncer.flush()
    elif call == "cancel":
        assert run.debouncer is not None
        dropped = run.debouncer.cancel()  # counted by the debouncer as dropped
        with run.lock:
            run.cancelled += dropped
    elif call == "fork":
        fork_and_use_the_pool(run, queue)


# --8<-- [end:call-back]


# --8<-- [start:fork]
def fork_and_use_the_pool(run: Run, queue: str) -> None:
    """Fork from a worker; the child must get a fresh, working pool of its own."""
    pool = run.system[queue]
    pid = os.fork()  # 3.12+ warns: this process has threads (see the tests' filter)
    if pid == 0:  # the child: only this thread survived the fork
        code = 70
        try:
            ran = threading.Event()
            fresh = pool.snapshot()["submitted"] == 0
            pool.submit(ran.set)
            code = 0 if fresh and ran.wait(HANG) else 71
        finally:
            os._exit(code)  # no exit hooks, no pytest: the child was a probe
    deadline = time.monotonic() + 2 * HANG
    while (finished := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            run.problem("a child forked from a worker hung")
            return
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(finished[1])
    if code != 0:
        run.problem(f"a child forked from a worker exited with {code}")


# --8<-- [end:fork]


class HostileHandler(logging.Handler):
    def __init__(self, how: str, run: Run) -> None:
        super().__init__()
        self.how, self.run = how, run
        if how == "filter-raises":
            self.addFilter(self.refuse)

    def refuse(self, record: logging.LogRecord) -> bool:
        raise UserError("a filter that raises")

    def emit(self, record: logging.LogRecord) -> None:
        if self.how == "blocks":
            self.run.hold()
        elif self.how == "reads-pool":
            self.run.system["general"].snapshot()
            self.run.system["site"].snapshot()
        elif self.how.startswith("raises "):
            raise make(self.how.removeprefix("raises "), "from a log handler")


@contextmanager
def log_handler(how: str, run: Run) -> Iterator[None]:
    """The library's logger with only a hostile handler, for the example's duration."""
    logger = logging.getLogger("dualqueue")
    saved = logger.handlers[:], logger.propagate, logger.disabled, logger.level
    handler = logging.NullHandler() if how == "none" else HostileHandler(how, run)
    logger.handlers[:] = [handler]
    logger.propagate, logger.disabled = False, False
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate, logger.disabled, _ = saved
        logger.setLevel(saved[3])


# -- the judge ------------------------------------------------------------------------


def bounded(call: Callable[[], Any], limit: float, what: str) -> Any:
    """``call()`` on a helper thread; AssertionError if not returned by ``limit``."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed back to the judge, whatever it is
            outcome.append((False, exc))

    thread = threading.Thread(target=target, name=f"judge: {what}", daemon=True)
    thread.start()
    thread.join(limit)
    assert outcome, f"{what} had not returned after {limit:.2f}s: a deadlock"
    ok, value = outcome[0]
    if not ok:  # nothing the judge calls may raise: user code leaked into the caller
        raise AssertionError(f"{what} raised {type(value).__name__} into its caller")
    return value


def judge_picture(picture: dict[str, Any], run: Run, where: str) -> None:
    """A status picture is JSON text, and each pool in it keeps the identity."""
    try:
        json.dumps(picture)
    except (TypeError, ValueError) as exc:
        run.problem(f"{where} is not JSON: {exc}")
    for name, s in picture["pools"].items():
        outstanding = (
            s["queued"] + s["running"] + s["succeeded"] + s["failed"] + s["dropped"]
        )
        if s["submitted"] != outstanding:
            run.problem(f"{where}: pool {name} breaks the identity: {s}")
        if s["submitted"] and not s["closed"] and s["alive_workers"] != s["workers"]:
            run.problem(
                f"{where}: pool {name} has {s['alive_workers']} of "
                f"{s['workers']} workers"
            )
        texts = [(letter["task"], letter["message"]) for letter in s["dead_letters"]]
        if s["last_error"] is not None:
            texts.append(("-", s["last_error"]["message"]))
        for task, message in texts:  # short text, whatever the names and __str__ did
            if not (short(task) and (short(message) or message == "")):
                run.problem(f"{where}: pool {name} shows {task!r:.80}: {message!r:.80}")


def short(text: object) -> bool:
    """A non-empty ``str`` of at most 1000 characters: fit for a status page."""
    return type(text) is str and 0 < len(text) <= 1000


def look(run: Run, where: str) -> dict[str, Any]:
    picture: dict[str, Any] = bounded(run.system.snapshot, HANG, f"snapshot ({where})")
    judge_picture(picture, run, where)
    return picture


def settle(run: Run) -> None:
    """Wait until every pool is idle and the debouncer holds nothing (bounded)."""
    assert run.debouncer is not None
    deadline = time.monotonic() + HANG
    debouncer = run.debouncer
    while time.monotonic() < deadline:
        bounded(debouncer.flush, HANG, "flush")
        idle = bounded(lambda: run.system.join(timeout=HANG), HANG + GRACE, "join")
        if idle and not debouncer.pending and not debouncer.running:
            return
        time.sleep(WAIT)
    picture = bounded(run.system.snapshot, HANG, "snapshot")
    raise AssertionError(f"the system never settled: {picture}")


def submit(run: Run, spec: TaskSpec) -> None:
    with suppress(PoolClosedError):  # a task shut that pool down: refused, not lost
        run.system.submit(spec.queue, build_task(spec, run))


# --8<-- [start:check]
def check_hostile_workload(subject: Subject, w: Workload) -> None:
    pools = {
        name: subject.pool(name, workers=n, clock=CLOCK)
        for name, n in (("general", w.general), ("site", w.site))
    }
    run = Run(subject.system(clock=CLOCK, **pools))
    run.debouncer = run.system.debouncer(
        "hostile", build_callback(w.callback, run), wait=WAIT, pool="general"
    )
    with log_handler(w.handler, run):
        try:
            for spec in w.tasks:
                # Every call from the judge's thread is bounded too: a core that ran
                # user code under its mutex fails here, rather than hanging the suite.
                bounded(functools.partial(submit, run, spec), HANG, "submit")
                trigger = functools.partial(call_back, "trigger", spec.queue, run)
                bounded(trigger, HANG, "trigger")
                look(run, "while tasks run")
            if w.release_first:
                run.release.set()
                settle(run)
                judge_quiet(run, look(run, "at rest"))
            started = time.monotonic()
            report = bounded(
                lambda: run.system.shutdown(timeout=w.timeout),
                w.timeout + GRACE,
                "shutdown",
            )
            took = time.monotonic() - started
            assert took <= w.timeout + GRACE, f"shutdown({w.timeout}) took {took:.2f}s"
            run.reports.append((None, report))
        finally:
            run.release.set()  # whatever happened, let blocked code go
        settle(run)
        judge_quiet(run, look(run, "after the shutdown"))
    assert not run.problems, "\n".join(run.problems)


# --8<-- [end:check]


# --8<-- [start:judge-quiet]
def judge_quiet(run: Run, picture: dict[str, Any]) -> None:
    """At rest, every attempt and every task is accounted for, and every item too."""
    assert not run.problems, "\n".join(run.problems)
    for name, s in picture["pools"].items():
        assert s["queued"] == s["running"] == 0, f"pool {name} is not at rest: {s}"
        assert s["submitted"] == s["succeeded"] + s["failed"] + s["dropped"], s
        attempts = run.returned[name] + run.raised[name]
        if name == "general":
            attempts += run.callback_runs  # the debouncer's runs are tasks of its pool
        ended = s["succeeded"] + s["failed"] + s["retried"]
        assert ended == attempts, (
            f"pool {name}: {attempts} attempts ran, {ended} ended: {s}"
        )
        assert s["succeeded"] >= run.returned[name], f"pool {name} lost a success: {s}"
        named = sum(
            len(report_of(report, name, owner).dropped) for owner, report in run.reports
        )
        assert named == s["dropped"], (
            f"pool {name} dropped {s['dropped']}, reports name {named}"
        )
    for _, report in run.reports:
        for part in (report, *report.pools.values()):
            accounted = part.finished + len(part.dropped) + len(part.still_running)
            assert accounted == part.queued + part.running, f"a report's books: {part}"
            names = (*part.dropped, *part.still_running)
            assert all(short(n) for n in names), f"a report's names: {names!r:.200}"
    d = picture["debouncers"]["hostile"]
    delivered = sorted(run.delivered)
    assert len(set(delivered)) == len(delivered), (
        f"an item was delivered twice: {delivered}"
    )
    assert set(delivered) <= set(run.triggered), (
        "a run delivered an item never triggered"
    )
    assert len(delivered) + d["dropped"] == len(run.triggered), (
        f"{len(run.triggered)} items triggered, {len(delivered)} delivered, "
        f"{d['dropped']} counted as dropped: {d}"
    )
    # Items no one cancelled were dropped by the system's shutdown: a report names
    # their run. (If hostile code shut the pool down first, the debouncer's later
    # runs were refused at its door: counted by the debouncer, named in its log.)
    if d["dropped"] > run.cancelled and not run.early:
        names = [
            n for _, r in run.reports for p in (r, *r.pools.values()) for n in p.dropped
        ]
        assert any("hostile" in n for n in names), (
            f"{d['dropped'] - run.cancelled} item(s) lost at shutdown, "
            "and no report names "
            f"the debouncer's run: {names}"
        )


# --8<-- [end:judge-quiet]


def report_of(report: ShutdownReport, pool: str, owner: str | None) -> ShutdownReport:
    """A pool's part of a report (a system's report has one per pool)."""
    if owner is None:
        return report.pools.get(pool, ShutdownReport(0, 0, 0, (), (), 0.0))
    return report if owner == pool else ShutdownReport(0, 0, 0, (), (), 0.0)


# --8<-- [start:property]
def hostile_property(
    subject: Subject = Subject(), **options: Any
) -> Callable[[], None]:
    """A hypothesis test: for any hostile workload, every promise of the core holds."""

    @settings(deadline=None, **options)
    @given(w=workloads)
    def hostile_workloads_keep_every_promise(w: Workload) -> None:
        check_hostile_workload(subject or Subject(), w)

    return hostile_workloads_keep_every_promise


# --8<-- [end:property]
