"""The exercise runner's commands: list, start, run, hint, reset, solution.

``python -m exercises`` with no command prints the help. Every command that
names an exercise accepts ``7``, ``07``, ``ex07`` or the full id. Progress is
remembered in ``.exercises-progress.json`` (see ``progress.py``); working
copies live in ``exercises/workspace/`` (see ``workspace.py``).

Exit codes: 0 for success (``run``: every check passed), 1 when ``run`` found
failing checks, 2 for a usage error such as an unknown exercise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import checker, workspace
from .catalog import Exercise, UnknownExercise, find, load_catalog
from .progress import PASSED, Progress
from .target import WORKSPACE_ENV

__all__ = ["main"]

DESCRIPTION = """\
Work through the dualqueue exercises: each one is a small, real piece of the task system
(a worker that survives its tasks, a lock that keeps the counts, a debouncer's max_wait,
a drain with a deadline...), with checks that say what they expected and what they got.

  python -m exercises list          the exercises and your progress
  python -m exercises start 1       copy exercise 1's starter into exercises/workspace/ and show the task
  python -m exercises run 1         run exercise 1's checks against your copy
  python -m exercises hint 1        show the next hint (one at a time; the runner remembers)
  python -m exercises reset 1       put the starter back (your old copy is kept in workspace/.backup/)
  python -m exercises solution 1    where the solution is (asks for --yes first)
"""

EPILOG = f"""\
Exercises are named by number: 7, 07, ex07 or ex07_debouncer_max_wait all work.
Environment: {WORKSPACE_ENV} moves the working copies, EXERCISES_STATE the progress file.
"""

STARS = {1: "*  ", 2: "** ", 3: "***"}


class Runner:
    """The commands, writing to ``out``; one instance per invocation."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.catalog = load_catalog()
        self.progress = Progress()

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    # -- list ----------------------------------------------------------------

    def list(self) -> int:
        rows = []
        for exercise in self.catalog:
            status = self.progress[exercise.id].status(workspace.copy_of(exercise).exists())
            rows.append((f"{exercise.number:02d}", exercise.title, _chapter_label(exercise.chapter),
                         STARS.get(exercise.difficulty, "?"), status))
        header = ("#", "exercise", "chapter", "level", "status")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
        self.say("  ".join(h.ljust(widths[i]) if i < 4 else h for i, h in enumerate(header)))
        for row in rows:
            self.say("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)))
        done = sum(1 for row in rows if row[4] == PASSED)
        self.say()
        self.say(f"{done} of {len(rows)} passed. Start one with `python -m exercises start NN`.")
        return 0

    # -- start -----------------------------------------------------------------

    def start(self, exercise: Exercise) -> int:
        copy, created = workspace.ensure_copy(exercise)
        self.say(f"Exercise {exercise.number:02d}: {exercise.title}  (chapter {_chapter_label(exercise.chapter)})")
        self.say()
        self.say(_section(exercise.path / "README.md", "The task"))
        self.say()
        if created:
            self.say(f"Copied the starter to {_shown(copy)}/.")
        else:
            self.say(f"Your copy is in {_shown(copy)}/ (already there: left as it was).")
        self.say("Edit: " + ", ".join(_shown(copy / name) for name in exercise.edit))
        self.say(f"The whole task: {_shown(exercise.path / 'README.md')}")
        self.say(f"Check it: python -m exercises run {exercise.number}")
        return 0

    # -- run -------------------------------------------------------------------

    def run(self, exercise: Exercise) -> int:
        copy, created = workspace.ensure_copy(exercise)
        if created:
            self.say(f"No copy of exercise {exercise.number:02d} yet: copied the starter to {_shown(copy)}/.")
        self.say(f"Running the checks of exercise {exercise.number:02d} ({exercise.title}) against {_shown(copy)}/")
        self.say()
        self.out.flush()
        outcome = checker.check(exercise, copy, capture=False)
        entry = self.progress[exercise.id]
        entry.runs += 1
        entry.last_result = "passed" if outcome.passed else "failed"
        self.progress.save()
        self.say()
        self.say("-" * 72)
        if outcome.passed:
            self.say(f"Exercise {exercise.number:02d} passed: all {outcome.tests} checks pass.")
            self.say(f"Compare with the solution: python -m exercises solution {exercise.number} --yes")
            return 0
        if outcome.could_not_run:
            self.say(f"Exercise {exercise.number:02d}: the checks could not run: your copy did not import, or has "
                     "an error at import time. The traceback above (look for 'E ') says where.")
            return 1
        self.say(f"Exercise {exercise.number:02d}: {outcome.failed} of {outcome.tests} checks failed:")
        for failure in outcome.failures:
            self.say(f"  - {failure.test}")
        self.say("Each failure above says what was Expected, what it Got, and what that Usually means.")
        left = len(exercise.hints()) - entry.hints_shown
        if left > 0:
            self.say(f"Stuck? python -m exercises hint {exercise.number}  ({left} hint(s) left)")
        return 1

    # -- hint ------------------------------------------------------------------

    def hint(self, exercise: Exercise) -> int:
        hints = exercise.hints()
        entry = self.progress[exercise.id]
        if entry.hints_shown >= len(hints):
            self.say(f"That was every hint for exercise {exercise.number:02d} ({len(hints)} of {len(hints)}). "
                     "The last one again:")
            self.say()
            self.say(_indent(hints[-1]))
            self.say()
            self.say(f"Still stuck? The solution: python -m exercises solution {exercise.number} --yes")
            return 0
        entry.hints_shown += 1
        self.progress.save()
        self.say(f"Hint {entry.hints_shown} of {len(hints)} for exercise {exercise.number:02d} ({exercise.title}):")
        self.say()
        self.say(_indent(hints[entry.hints_shown - 1]))
        if entry.hints_shown < len(hints):
            self.say()
            self.say(f"Next hint: python -m exercises hint {exercise.number}")
        return 0

    # -- reset -----------------------------------------------------------------

    def reset(self, exercise: Exercise) -> int:
        copy, backup = workspace.reset(exercise)
        self.say(f"Restored the starter of exercise {exercise.number:02d} into {_shown(copy)}/.")
        if backup is not None:
            self.say(f"Your previous copy was moved to {_shown(backup)}/.")
        else:
            self.say("There was no previous copy.")
        return 0

    # -- solution --------------------------------------------------------------

    def solution(self, exercise: Exercise, confirmed: bool) -> int:
        files = [exercise.solution / name for name in exercise.edit]
        if not confirmed:
            entry = self.progress[exercise.id]
            total = len(exercise.hints())
            self.say(f"The solution of exercise {exercise.number:02d} is one command away:")
            self.say(f"  python -m exercises solution {exercise.number} --yes")
            if entry.hints_shown < total:
                self.say(f"You have seen {entry.hints_shown} of {total} hints; the next one may be all you need:")
                self.say(f"  python -m exercises hint {exercise.number}")
            return 0
        self.say(f"The solution of exercise {exercise.number:02d} ({exercise.title}):")
        for path in files:
            self.say(f"  {_shown(path)}")
        copy = workspace.copy_of(exercise)
        if copy.exists():
            self.say("Compare it with your copy:")
            for name in exercise.edit:
                self.say(f"  diff -u {_shown(copy / name)} {_shown(exercise.solution / name)}")
        return 0


def _chapter_label(chapter: str) -> str:
    """``ch07_debouncer_and_time`` -> ``7 debouncer and time``."""
    match = re.match(r"ch(\d+)_(.*)", chapter)
    return f"{int(match.group(1))} {match.group(2).replace('_', ' ')}" if match else chapter


def _section(readme: Path, title: str) -> str:
    """The text under ``## title`` in a README, without the heading."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return match.group(1).strip() if match else text.strip()


def _indent(text: str) -> str:
    return textwrap.indent(text, "  ")


def _shown(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exercises", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("list", help="the exercises and your progress")
    for name, text in (
        ("start", "copy the starter into exercises/workspace/ (if not there yet) and show the task"),
        ("run", "run the exercise's checks against your copy"),
        ("hint", "show the next hint"),
        ("reset", "put the starter back into your copy (the old copy is kept in workspace/.backup/)"),
        ("solution", "where the solution is (with --yes)"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("exercise", help="the exercise: 7, 07, ex07 or its full id")
        if name == "solution":
            command.add_argument("--yes", action="store_true", help="yes, show me where the solution is")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(out)
        return 0
    runner = Runner(out)
    if args.command == "list":
        return runner.list()
    try:
        exercise = find(runner.catalog, args.exercise)
    except UnknownExercise as exc:
        print(f"python -m exercises {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command == "solution":
        return runner.solution(exercise, args.yes)
    command = {"start": runner.start, "run": runner.run, "hint": runner.hint, "reset": runner.reset}[args.command]
    return command(exercise)
