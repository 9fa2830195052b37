"""The built site, served on loopback and opened in Debian's chromium: helpers for the browser tests.

``build(directory)`` runs ``mkdocs build --strict`` into a directory; ``serve(directory)``
serves it from ``127.0.0.1`` on a free port; ``browser()`` starts one headless chromium
(Debian's package, never a downloaded one) for every page of a test run.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tools.site_assets import vendor

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"  # Debian's package; `make browser` installs it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD_TIMEOUT = 300.0  # a deadlock detector: the build takes seconds


def build(site_dir: Path) -> Path:
    """Build the site with ``mkdocs build --strict`` into ``site_dir``; fail with mkdocs's output."""
    missing = vendor.stale()
    if missing:
        pytest.fail("the site's vendored assets are missing; run `make site-assets`:\n" + "\n".join(missing))
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return site_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        # The browser may move on to the next page mid-download.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()


@contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir`` on 127.0.0.1 (a free port); yield its base URL, ending in ``/``."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def browser() -> Iterator[Browser]:
    """One headless Debian chromium; fails (never skips) when it is missing."""
    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if chromium is None:
        pytest.fail(f"Debian's chromium is missing ({CHROMIUM}): `make browser` installs it")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


def pages(site_dir: Path) -> list[str]:
    """Every page of the built site as a URL path relative to its root ("", "chapters/ch03_pool/", ...)."""
    found = [p.relative_to(site_dir).as_posix().removesuffix("index.html") for p in site_dir.rglob("index.html")]
    return sorted(found) + (["404.html"] if (site_dir / "404.html").exists() else [])
