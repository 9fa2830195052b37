"""The learner's progress: which exercises were run and how, and how many hints were shown.

Kept in one small JSON file, ``.exercises-progress.json`` at the repository root
(git ignores it), or wherever ``$EXERCISES_STATE`` points. Written atomically
(a temporary file renamed over the old one), so an interrupted command never
leaves a half-written file; a missing or unreadable file means "nothing yet".
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .target import EXERCISES

__all__ = ["IN_PROGRESS", "NOT_STARTED", "PASSED", "REGRESSED", "STATE_ENV", "ExerciseProgress", "Progress",
           "state_file"]

STATE_ENV = "EXERCISES_STATE"

NOT_STARTED, IN_PROGRESS, PASSED = "not started", "in progress", "passed"
REGRESSED = "passed before, failing now"


def state_file() -> Path:
    """``$EXERCISES_STATE`` or ``.exercises-progress.json`` at the repository root."""
    configured = os.environ.get(STATE_ENV)
    return Path(configured).resolve() if configured else EXERCISES.parent / ".exercises-progress.json"


@dataclass
class ExerciseProgress:
    """What the runner remembers about one exercise."""

    hints_shown: int = 0
    runs: int = 0
    last_result: str | None = None  # "passed" or "failed"
    passed_once: bool = False  # earned once, kept: a later failing run does not take it away

    def __post_init__(self) -> None:
        if self.last_result == "passed":  # a file written before passed_once existed
            self.passed_once = True

    def record(self, passed: bool) -> None:
        """One more run of the checks, and its verdict."""
        self.runs += 1
        self.last_result = "passed" if passed else "failed"
        self.passed_once = self.passed_once or passed

    def status(self, has_workspace: bool) -> str:
        if self.last_result == "passed":
            return PASSED
        if self.passed_once:
            return REGRESSED
        if has_workspace or self.runs or self.hints_shown:
            return IN_PROGRESS
        return NOT_STARTED


class Progress:
    """Every exercise's progress, loaded from and saved to one file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else state_file()
        self._entries: dict[str, ExerciseProgress] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        for exercise_id, entry in raw.get("exercises", {}).items() if isinstance(raw, dict) else ():
            try:
                self._entries[exercise_id] = ExerciseProgress(**entry)
            except TypeError:  # a file from another version: forget that entry rather than fail
                continue

    def __getitem__(self, exercise_id: str) -> ExerciseProgress:
        return self._entries.setdefault(exercise_id, ExerciseProgress())

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"exercises": {key: asdict(value) for key, value in sorted(self._entries.items())}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".progress-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, self.path)
