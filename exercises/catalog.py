"""The exercises as the runner knows them: read from ``manifest.toml``, found by number or name.

``load_catalog()`` returns the exercises in book order; ``find(catalog, "7")``
accepts ``7``, ``07``, ``ex07`` or the full id ``ex07_debouncer_max_wait`` and
raises ``UnknownExercise`` (with the known ids in its message) for anything else.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .target import EXERCISES

__all__ = ["MANIFEST", "Exercise", "UnknownExercise", "find", "load_catalog"]

MANIFEST = EXERCISES / "manifest.toml"
ID_PATTERN = re.compile(r"^ex(\d\d)_[a-z0-9_]+$")
HINT_MARKER = re.compile(r"--8<-- \[(start|end):hint-(\d+)\]")


class UnknownExercise(LookupError):
    """No exercise matches what the learner typed."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of the manifest."""

    id: str  # the folder name, exNN_slug
    title: str
    chapter: str  # the chapter package, e.g. ch02_one_worker
    difficulty: int  # 1 to 3
    edit: tuple[str, ...]  # the starter files the learner changes
    summary: str

    @property
    def number(self) -> int:
        match = ID_PATTERN.match(self.id)
        assert match is not None
        return int(match.group(1))

    @property
    def path(self) -> Path:
        return EXERCISES / self.id

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def solution(self) -> Path:
        return self.path / "solution"

    @property
    def hints_file(self) -> Path:
        return self.path / "hints.md"

    def hints(self) -> list[str]:
        """The hints in order: the sections ``hint-1``, ``hint-2``... of ``hints.md``.

        The same named sections are what the site includes in its collapsed tips.
        """
        found: dict[int, list[str]] = {}
        current: int | None = None
        for line in self.hints_file.read_text(encoding="utf-8").splitlines():
            marker = HINT_MARKER.search(line)
            if marker is not None:
                current = int(marker.group(2)) if marker.group(1) == "start" else None
                if current is not None:
                    found[current] = []
            elif current is not None:
                found[current].append(line)
        if sorted(found) != list(range(1, len(found) + 1)):
            raise ValueError(f"{self.hints_file}: hints must be numbered hint-1, hint-2, ... without gaps")
        return ["\n".join(found[n]).strip() for n in sorted(found)]


def load_catalog(manifest: Path = MANIFEST) -> list[Exercise]:
    """Every exercise in the manifest, in the manifest's (the book's) order."""
    with manifest.open("rb") as f:
        data = tomllib.load(f)
    exercises = []
    for entry in data.get("exercise", []):
        exercise = Exercise(
            id=entry["id"],
            title=entry["title"],
            chapter=entry["chapter"],
            difficulty=int(entry["difficulty"]),
            edit=tuple(entry["edit"]),
            summary=entry["summary"],
        )
        if not ID_PATTERN.match(exercise.id):
            raise ValueError(f"{manifest}: exercise id {exercise.id!r} is not of the form exNN_slug")
        exercises.append(exercise)
    return exercises


def find(catalog: list[Exercise], query: str) -> Exercise:
    """The exercise ``query`` names: ``7``, ``07``, ``ex07`` or ``ex07_debouncer_max_wait``."""
    wanted = query.strip().lower()
    if wanted.startswith("ex"):
        wanted = wanted[2:]
    number_part = wanted.split("_", 1)[0]
    for exercise in catalog:
        if wanted == exercise.id[2:] or (number_part.isdigit() and "_" not in wanted
                                         and int(number_part) == exercise.number):
            return exercise
    known = ", ".join(f"{e.number:02d}" for e in catalog)
    raise UnknownExercise(
        f"no exercise {query!r}. The exercises are numbered {known}; "
        "`python -m exercises list` shows them with their titles."
    )
