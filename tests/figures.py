"""Figures that the reliability, demo and end-to-end tests measure, printed at the end of the run.

A test that proves a promise under load or faults asks for the ``figures`` fixture and records
what it threw at the system and what was lost (zero unless the design says otherwise, and then
counted exactly). The run prints them in a "reliability figures" section; with
``DUALQUEUE_FIGURES_JSON=path`` it also writes them as JSON, which docs/guides/promises.md quotes
together with the command that reproduces it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIGURES: dict[str, dict[str, object]] = {}


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> dict[str, object]:
    """A dict for this test's figures, keyed in the summary by the test's name."""
    record: dict[str, object] = {}
    FIGURES[request.node.name] = record
    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, record in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(record, sort_keys=True)}")
    target = os.environ.get("DUALQUEUE_FIGURES_JSON")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
