"""The wrong attempts each exercise keeps: realistic mistakes, and what must catch them.

Every exercise's ``wrong/`` folder holds whole copies of the file the learner
edits, each with one mistake a learner makes (found by working through the
exercise without the solution). Its docstring says what the mistake is and how
the checks must react::

    \"\"\"Wrong: task_done() is called before the task runs.

    A paragraph on why it looks right, and why it is not.

    Kind: logic                       (or: race, for a mistake that needs two threads acting at once)
    Caught by: test_a_failed_task_is_marked_done_so_join_returns
    Caught by: (more checks, on more lines, if need be)
    Message mentions: too early
    \"\"\"

CI (``tests/exercises/test_wrong_attempts.py``) runs the exercise's checks with
the solution's folder, the file replaced by the wrong attempt, and proves that
the checks named in ``Caught by`` fail with a message mentioning the given text
(case-insensitive). So a failure message is proven to name the mistake, not
only to exist; and ``Kind: race`` marks the attempts that are wrong only under
some interleaving, which the checks must find deterministically.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .catalog import Exercise, load_catalog

__all__ = ["KINDS", "WrongAttempt", "build", "page_section", "wrong_attempts"]

KINDS = ("logic", "race")
_FIELD = re.compile(r"^(Kind|Caught by|Message mentions):\s*(.+)$", re.MULTILINE)


@dataclass(frozen=True)
class WrongAttempt:
    """One wrong attempt at one exercise, and what must catch it."""

    exercise: Exercise
    path: Path
    mistake: str  # the docstring's first line
    kind: str  # "logic" or "race"
    caught_by: tuple[str, ...]  # check names (with parameters, as pytest reports them)
    mentions: str  # text the failure message of each of those checks contains

    @property
    def name(self) -> str:
        return f"{self.exercise.id[:4]}/{self.path.stem}"


def _parse(exercise: Exercise, path: Path) -> WrongAttempt:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    fields: dict[str, str] = {}
    for key, value in _FIELD.findall(docstring):  # "Caught by" may be given on several lines
        fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
    missing = [key for key in ("Kind", "Caught by", "Message mentions") if key not in fields]
    if not docstring.startswith("Wrong: ") or missing:
        raise ValueError(f"{path}: the docstring must start with 'Wrong: ' and give {missing or 'every field'}")
    if fields["Kind"] not in KINDS:
        raise ValueError(f"{path}: Kind must be one of {KINDS}, got {fields['Kind']!r}")
    return WrongAttempt(
        exercise=exercise,
        path=path,
        mistake=docstring.splitlines()[0].removeprefix("Wrong: "),
        kind=fields["Kind"],
        caught_by=tuple(name.strip() for name in fields["Caught by"].split(",") if name.strip()),
        mentions=fields["Message mentions"],
    )


def wrong_attempts(exercise: Exercise) -> list[WrongAttempt]:
    """The exercise's wrong attempts, sorted by file name."""
    folder = exercise.path / "wrong"
    return [_parse(exercise, path) for path in sorted(folder.glob("*.py"))] if folder.is_dir() else []


def build(attempt: WrongAttempt, directory: Path) -> Path:
    """An implementation folder: the solution's files, with the edited file replaced by the wrong attempt."""
    shutil.copytree(attempt.exercise.solution, directory, ignore=shutil.ignore_patterns("__pycache__"))
    (edited,) = attempt.exercise.edit
    shutil.copy(attempt.path, directory / edited)
    return directory


def page_section(exercise: Exercise) -> str:
    """The page section listing the exercise's wrong attempts (collapsed); ``python -m exercises.wrong`` writes it."""
    attempts = wrong_attempts(exercise)
    lines = []
    for attempt in attempts:
        race = " *(wrong only under some interleaving)*" if attempt.kind == "race" else ""
        checks = ", ".join(f"`{check}`" for check in attempt.caught_by)
        lines.append(f"    - `{attempt.path.name}`: {attempt.mistake}{race} Caught by {checks}.")
    return (
        "## Wrong attempts the checks catch\n\n"
        f"Each of these is a whole `{exercise.edit[0]}` with one mistake learners make, kept in "
        f"`exercises/{exercise.id}/wrong/`. CI runs the checks against every one of them and requires the named "
        "checks to fail with a message that names the mistake. Open this after your own attempt.\n\n"
        f'??? note "{len(attempts)} wrong attempts"\n' + "\n".join(lines) + "\n\n"
    )


def write_pages(docs: Path) -> None:
    """Put each exercise page's wrong-attempts section (before its Solution) in step with the catalog."""
    for exercise in load_catalog():
        page = docs / f"{exercise.id}.md"
        text = re.sub(r"## Wrong attempts the checks catch\n.*?(?=## Solution)", "", page.read_text(), flags=re.S)
        page.write_text(text.replace("## Solution\n", page_section(exercise) + "## Solution\n", 1))


if __name__ == "__main__":  # python -m exercises.wrong: rewrite the sections of docs/exercises/*.md
    write_pages(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "docs" / "exercises")
