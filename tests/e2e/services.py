"""Real servers for the way-out tests: a throwaway PostgreSQL cluster and a redis-server, both on loopback.

Debian's packages (``make services`` installs them): each server gets a private temporary directory
and a free port, is started for one test module and stopped (and its directory removed) after it.
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` system user
that Debian's package creates. Nothing is mocked: the demo's processes talk to these servers.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.harness import STARTUP_TIMEOUT, free_port, wait_until


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run `make services` (apt-get install postgresql)")
    return found[-1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh PostgreSQL cluster on 127.0.0.1; yields a ``DATABASE_URL`` for its ``postgres`` database."""
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    home = Path(tempfile.mkdtemp(prefix="dualqueue-pg-"))
    data, log = home / "data", home / "server.log"
    if as_root:
        shutil.chown(home, "postgres")
    port = free_port()
    try:
        subprocess.run(
            [*run_as, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            timeout=STARTUP_TIMEOUT,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            check=True,
            capture_output=True,
            timeout=STARTUP_TIMEOUT,
        )
        try:
            yield f"postgres://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=STARTUP_TIMEOUT,
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server on 127.0.0.1 with no persistence; yields a ``REDIS_URL``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: run `make services` (apt-get install redis-server)")
    home = Path(tempfile.mkdtemp(prefix="dualqueue-redis-"))
    port = free_port()
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(home)]
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                assert server.poll() is None, f"redis-server exited: {(home / 'server.log').read_text()}"
                return False

        wait_until(answers, STARTUP_TIMEOUT, "redis-server to answer PING")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(STARTUP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(home, ignore_errors=True)
