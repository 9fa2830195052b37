"""The real demo, run the way production runs it: subprocesses, a real gunicorn, a real SMTP server.

Nothing here imports Django into the pytest process: the demo runs in its own processes with its
own settings (``demo.settings``), configured only through environment variables, exactly as an
operator would configure it. What this module provides:

- :class:`DemoEnv`: a private var dir (SQLite database, media) and the environment for every
  subprocess of one test; :meth:`DemoEnv.manage` runs ``manage.py`` commands in it.
- :class:`Gunicorn`: starts ``gunicorn -c python:dualqueue.django.gunicorn demo.wsgi`` on a free
  loopback port, waits until it answers, stops it with SIGTERM and keeps its log.
- :class:`SmtpSink`: an aiosmtpd server on loopback that timestamps every message it receives.
- :class:`DemoClient`: an HTTP client with a cookie jar (session + CSRF), one fresh connection per
  request so that the kernel can hand each request to either gunicorn worker.

Every wait is bounded; the bounds are deadlock detectors, generous on purpose for a shared 2-core
machine, and a timeout always says what it was waiting for.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "reference" / "demo"
BIN = Path(sys.executable).parent  # the virtualenv's bin: gunicorn lives beside python
STATUS_TOKEN = "e2e-status-token"  # DUALQUEUE_STATUS_TOKEN for every demo process the tests start

# Deadlock detectors, not performance claims: a healthy run is far below each.
STARTUP_TIMEOUT = 60.0
COMMAND_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class DemoEnv:
    """One test's private demo installation: a var dir, a database, the environment of its processes."""

    def __init__(self, var_dir: Path, **overrides: str) -> None:
        self.var_dir = var_dir
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.sqlite_path = var_dir / "demo.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEMO_", "EMAIL_", "GEE_"))}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "demo.settings",
                "PYTHONPATH": os.pathsep.join([str(DEMO_DIR), str(REPO)]),
                "PYTHONUNBUFFERED": "1",
                "DEMO_VAR_DIR": str(var_dir),
                "DEMO_SQLITE_PATH": str(self.sqlite_path),
                "DUALQUEUE_STATUS_TOKEN": STATUS_TOKEN,
                "NO_GCE_CHECK": "true",  # Earth Engine must never probe a cloud metadata server
                # DEBUG stays off, as in production; the demo then needs a key of its own and, on
                # plain HTTP over loopback, HTTPS switched off.
                "DJANGO_SECRET_KEY": "e2e-only-secret-key-" + "k" * 40,
                "DJANGO_HTTPS": "0",
            }
        )
        env.update(overrides)
        self.env = env

    def manage(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py <args>`` in this environment; fail with its output if it fails."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=DEMO_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, (
            f"manage.py {' '.join(args)} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
        return done

    def query(self, code: str) -> Any:
        """Run ``code`` in ``manage.py shell`` (Django set up, this database); it prints one JSON value last."""
        out = self.manage("shell", "-c", code).stdout.strip().splitlines()
        assert out, f"the shell printed nothing for:\n{code}"
        return json.loads(out[-1])


@dataclass(frozen=True)
class Stopped:
    """How a server process ended."""

    returncode: int
    seconds: float  # from the signal to the master's exit
    workers_gone: dict[int, float]  # worker pid -> seconds from the signal until it had exited
    log: str


class Gunicorn:
    """The demo under a real gunicorn master, by default with the adapter's configuration and hooks."""

    def __init__(
        self,
        demo: DemoEnv,
        *,
        workers: int = 2,
        extra_args: Sequence[str] = (),
        config: str | None = "python:dualqueue.django.gunicorn",
    ) -> None:
        self.demo = demo
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = demo.var_dir / f"gunicorn-{self.port}.log"
        self.argv = [
            str(BIN / "gunicorn"),
            *(["-c", config] if config else []),
            "demo.wsgi",
            "--chdir",
            str(DEMO_DIR),
            "--worker-class",
            "gthread",
            "--preload",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            *_no_control_socket(),
            *extra_args,
        ]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Gunicorn:
        # Links sent by email point at this server unless the test configured another public URL.
        env = {"DEMO_PUBLIC_URL": self.base_url, **self.demo.env}
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(self.argv, cwd=DEMO_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._answers, STARTUP_TIMEOUT, f"gunicorn to answer on {self.base_url}\n{self.log()}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited {self.process.returncode} before answering\n{self.log()}")
        try:
            requests.get(f"{self.base_url}/background-tasks/status/", timeout=5, headers={"Connection": "close"})
        except requests.ConnectionError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def terminate(self, timeout: float) -> Stopped:
        """SIGTERM the master (a deploy's graceful stop) and wait up to ``timeout`` s for it to exit."""
        assert self.process is not None
        workers = worker_pids(self.process.pid)
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        gone: dict[int, float] = {}
        # Watch the workers while the master waits for them: when each one ends tells a worker that
        # exits by itself apart from one that gunicorn kills at the graceful timeout.
        while self.process.poll() is None and time.monotonic() - sent < timeout:
            for pid in workers:
                if pid not in gone and not _alive(pid):
                    gone[pid] = time.monotonic() - sent
            time.sleep(0.02)
        if self.process.poll() is None:
            self.kill()
            raise AssertionError(f"gunicorn did not exit within {timeout:.0f}s of SIGTERM\n{self.log()}")
        seconds = time.monotonic() - sent
        gone.update({pid: seconds for pid in workers if pid not in gone})
        return Stopped(self.process.wait(), seconds, gone, self.log())

    def kill(self) -> None:
        """Last resort in teardown: SIGKILL the master and whatever workers it left."""
        if self.process is None or self.process.poll() is not None:
            return
        for pid in worker_pids(self.process.pid):
            _signal_quietly(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=10)


def _alive(pid: int) -> bool:
    """False once ``pid`` has exited (a zombie waiting for its parent to reap it counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in {"Z", "X"}


def _no_control_socket() -> list[str]:
    # gunicorn 24+ opens a control socket at one fixed path in $HOME by default: two servers on one
    # machine (tests in parallel, a developer's own) would fight over it. These tests never use it.
    from gunicorn import config

    return ["--no-control-socket"] if any(s.name == "control_socket" for s in config.KNOWN_SETTINGS) else []


def worker_pids(pid: int) -> list[int]:
    """The child processes of ``pid`` (for a gunicorn master: its workers), from /proc."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _signal_quietly(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signum)


@contextmanager
def running_gunicorn(demo: DemoEnv, **kwargs: Any) -> Iterator[Gunicorn]:
    """A started gunicorn that is always gone afterwards (SIGTERM, then SIGKILL if it lingers)."""
    server = Gunicorn(demo, **kwargs)
    try:
        yield server.start()
    finally:
        if server.process is not None and server.process.poll() is None:
            # terminate() kills a master that lingers; the test's own failure is the one to report
            with suppress(AssertionError):
                server.terminate(timeout=60)


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server received it, stamped on arrival."""

    received_at: float  # time.monotonic() in this process when the DATA command completed
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class SmtpSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps and timestamps every message."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._received: list[ReceivedMail] = []
        self._arrived = threading.Condition()  # signalled whenever a message is appended to _received
        self._controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler hook
        mail = ReceivedMail(
            received_at=time.monotonic(),
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=envelope.original_content or envelope.content,
        )
        with self._arrived:
            self._received.append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def env(self) -> Mapping[str, str]:
        """What the demo's settings need to send through this server."""
        return {"EMAIL_HOST": self.host, "EMAIL_PORT": str(self.port)}

    @property
    def received(self) -> list[ReceivedMail]:
        with self._arrived:
            return list(self._received)

    def wait_for(self, recipient: str, timeout: float) -> ReceivedMail:
        """The first message to ``recipient``; fail after ``timeout`` s naming what did arrive."""
        def match() -> ReceivedMail | None:
            return next((m for m in self._received if recipient in m.rcpt_tos), None)

        with self._arrived:
            if not self._arrived.wait_for(lambda: match() is not None, timeout=timeout):
                arrived = [m.rcpt_tos for m in self._received]
                raise AssertionError(f"no email to {recipient} within {timeout:.1f}s; arrived: {arrived}")
            found = match()
            assert found is not None
            return found


class DemoClient:
    """A browser-like HTTP client for the demo: cookie jar, CSRF token, a fresh connection per request."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        # Closing every connection lets the kernel give each request to whichever worker accepts
        # first, so a burst reaches both gunicorn workers instead of riding one keep-alive socket.
        self.session.headers["Connection"] = "close"

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=30, **kwargs)

    @property
    def csrf_token(self) -> str:
        token = self.session.cookies.get("csrftoken")
        assert token, "no csrftoken cookie yet: GET a page with a form first"
        return str(token)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        headers = {"X-CSRFToken": self.csrf_token, "Referer": self.url(path), **kwargs.pop("headers", {})}
        return self.session.post(self.url(path), timeout=30, headers=headers, **kwargs)

    def post_form(self, path: str, data: Mapping[str, str]) -> requests.Response:
        """GET the form (for the CSRF cookie), then POST it with the token, as a browser would."""
        page = self.get(path)
        assert page.status_code == 200, f"GET {path} answered {page.status_code}"
        return self.post(path, data={"csrfmiddlewaretoken": self.csrf_token, **data}, allow_redirects=False)

    def status(self) -> dict[str, Any]:
        """The status JSON of whichever worker answers, read with the operator's token."""
        response = self.session.get(
            self.url("/background-tasks/status/"),
            headers={"Authorization": f"Bearer {STATUS_TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 200, f"status answered {response.status_code}: {response.text[:500]}"
        return dict(response.json())
