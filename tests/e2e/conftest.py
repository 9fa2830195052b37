"""End-to-end fixtures: a migrated, seeded demo database per session, a private copy per test, an SMTP server.

The demo runs in subprocesses (``manage.py``, gunicorn, ``db_worker``) under its own settings; the
pytest process never configures Django for these tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# test_way_out_db_worker imports the way-out settings modules in this process (the docs include
# them), and the demo's settings refuse to load without a key when DEBUG is off. The demo's own
# processes never see this one: harness.DemoEnv gives them an environment of their own.
os.environ.setdefault("DJANGO_SECRET_KEY", "e2e-import-only-secret-key-" + "k" * 40)

from tests.e2e.harness import DemoEnv, SmtpSink
from tests.e2e.workload import STAFF_EMAIL, STAFF_PASSWORD, STAFF_USERNAME


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoEnv:
    """The demo's database, migrated and seeded once (``migrate`` + ``seed_demo``) for every e2e test."""
    demo = DemoEnv(
        tmp_path_factory.mktemp("seeded-demo"),
        DEMO_ADMIN_USERNAME=STAFF_USERNAME,
        DEMO_ADMIN_EMAIL=STAFF_EMAIL,
        DEMO_ADMIN_PASSWORD=STAFF_PASSWORD,
    )
    demo.manage("migrate", "--no-input", "-v", "0")
    demo.manage("seed_demo")
    return demo


@pytest.fixture
def make_demo(seeded_demo: DemoEnv, tmp_path: Path) -> Callable[..., DemoEnv]:
    """``make_demo(**env)``: a private var dir holding a copy of the seeded database, with extra environment."""

    def make(**overrides: str) -> DemoEnv:
        demo = DemoEnv(tmp_path / "var", **overrides)
        # The WAL and shared-memory files belong to the database as much as the main file does.
        for part in seeded_demo.var_dir.glob(seeded_demo.sqlite_path.name + "*"):
            shutil.copyfile(part, demo.var_dir / part.name)
        return demo

    return make


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """A real SMTP server on loopback for this test; ``smtp.env`` points the demo's settings at it."""
    with SmtpSink() as sink:
        yield sink
