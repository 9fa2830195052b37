"""The exercise runner's commands: list, start, next, run, watch, hint, reset, solution.

``python -m exercises`` with no command prints the help. Every command that
names an exercise accepts ``7``, ``07``, ``ex07`` or the full id. Progress is
remembered in ``.exercises-progress.json`` (see ``progress.py``); working
copies live in ``exercises/workspace/`` (see ``workspace.py``).

A pass, once earned, is kept: an exercise that passed and fails on a later run
is listed as "passed before, failing now", not as never passed. ``watch``
re-runs the checks whenever a file of the copy is saved (it polls modification
times: standard library only) and stops cleanly on Ctrl-C. Output is coloured
when it goes to a terminal that can show colour, never when ``NO_COLOR`` is set
(https://no-color.org) or the output is a file or a pipe; ``FORCE_COLOR`` forces it.

Exit codes: 0 for success (``run``: every check passed; ``watch``: stopped with
Ctrl-C), 1 when ``run`` found failing checks, 2 for a usage error such as an
unknown exercise.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from . import checker, workspace
from .catalog import Exercise, UnknownExercise, find, load_catalog
from .progress import IN_PROGRESS, PASSED, REGRESSED, Progress
from .target import WORKSPACE_ENV

__all__ = ["main"]

DESCRIPTION = """\
Work through the dualqueue exercises: each one is a small, real piece of the task system
(a worker that survives its tasks, a lock that keeps the counts, a debouncer's max_wait,
a drain with a deadline...), with checks that say what they expected and what they got.

  python -m exercises list          the exercises and your progress
  python -m exercises next          start the first exercise you have not passed yet
  python -m exercises start 1       copy exercise 1's starter into exercises/workspace/ and show the task
  python -m exercises run 1         run exercise 1's checks against your copy
  python -m exercises watch 1       run them again every time you save (Ctrl-C stops); no number: go on to the next
  python -m exercises hint 1        show the next hint (one at a time; the runner remembers)
  python -m exercises reset 1       put the starter back (your old copy is kept in workspace/.backup/)
  python -m exercises reset 1 --hints   ...and start the hints again from the first (--hints-only: just that)
  python -m exercises solution 1    where the solution is (asks for --yes first)
"""

EPILOG = f"""\
Exercises are named by number: 7, 07, ex07 or ex07_debouncer_max_wait all work.
Environment: {WORKSPACE_ENV} moves the working copies, EXERCISES_STATE the progress file;
NO_COLOR turns colour off, FORCE_COLOR turns it on.
"""

STARS = {1: "*  ", 2: "** ", 3: "***"}
WATCH_INTERVAL = 0.5  # seconds between two looks at the copy's modification times

# ANSI styles, used only when colour is on (see use_colour).
_STYLES = {"passed": "32", "failed": "31", "regressed": "33", "progress": "36", "bold": "1", "dim": "2"}
_STATUS_STYLE = {PASSED: "passed", REGRESSED: "regressed", IN_PROGRESS: "progress"}


def use_colour(out: TextIO) -> bool:
    """Colour if forced, never with NO_COLOR (any non-empty value), else only on a terminal that is not dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM", "") != "dumb"


class Runner:
    """The commands, writing to ``out``; one instance per invocation."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.colour = use_colour(out)
        self.catalog = load_catalog()
        self.progress = Progress()

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def style(self, text: str, style: str | None) -> str:
        if not self.colour or style is None:
            return text
        return f"\033[{_STYLES[style]}m{text}\033[0m"

    # -- list ----------------------------------------------------------------

    def list(self) -> int:
        rows = []
        for exercise in self.catalog:
            status = self.progress[exercise.id].status(workspace.copy_of(exercise).exists())
            rows.append((f"{exercise.number:02d}", exercise.title, _chapter_label(exercise.chapter),
                         STARS.get(exercise.difficulty, "?"), status))
        header = ("#", "exercise", "chapter", "level", "status")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
        self.say(self.style("  ".join(h.ljust(widths[i]) if i < 4 else h for i, h in enumerate(header)), "bold"))
        for row in rows:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])]
            self.say("  ".join([*cells, self.style(row[4], _STATUS_STYLE.get(row[4]))]))
        done = sum(1 for row in rows if row[4] in (PASSED, REGRESSED))
        regressed = sum(1 for row in rows if row[4] == REGRESSED)
        self.say()
        again = f" ({regressed} of them failing now)" if regressed else ""
        self.say(f"{done} of {len(rows)} passed{again}. The next one: `python -m exercises next`.")
        return 0

    # -- next ------------------------------------------------------------------

    def first_not_passed(self) -> Exercise | None:
        return next((e for e in self.catalog if not self.progress[e.id].passed_once), None)

    def next(self) -> int:
        exercise = self.first_not_passed()
        if exercise is None:
            self.say(self.style(f"Every exercise passed ({len(self.catalog)} of {len(self.catalog)}).", "passed"))
            self.say("`python -m exercises list` shows them; any of them can be run again.")
            return 0
        return self.start(exercise)

    # -- start -----------------------------------------------------------------

    def start(self, exercise: Exercise) -> int:
        copy, created = workspace.ensure_copy(exercise)
        self.say(self.style(f"Exercise {exercise.number:02d}: {exercise.title}", "bold")
                 + f"  (chapter {_chapter_label(exercise.chapter)})")
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
        passed_before = entry.passed_once
        entry.record(outcome.passed)
        self.progress.save()
        self.say()
        self.say("-" * 72)
        if outcome.passed:
            self.say(self.style(f"Exercise {exercise.number:02d} passed: all {outcome.tests} checks pass.", "passed"))
            self.say(f"Compare with the solution: python -m exercises solution {exercise.number} --yes")
            following = self.first_not_passed()
            if following is not None:
                self.say(f"Next: python -m exercises next  (exercise {following.number:02d}, {following.title})")
            return 0
        if passed_before:
            self.say(self.style(f"Exercise {exercise.number:02d} passed before, and fails now. Your earlier pass is "
                                "kept; the checks below say what changed.", "regressed"))
        if outcome.could_not_run:
            self.say(self.style(f"Exercise {exercise.number:02d}: the checks could not run", "failed")
                     + ": your copy did not import, or has an error at import time. The traceback above "
                     "(look for 'E ') says where.")
            return 1
        self.say(self.style(f"Exercise {exercise.number:02d}: {outcome.failed} of {outcome.tests} checks failed:",
                            "failed"))
        for failure in outcome.failures:
            self.say(f"  - {failure.test}")
        self.say("Each failure above says what was Expected, what it Got, and what that Usually means.")
        left = len(exercise.hints()) - entry.hints_shown
        if left > 0:
            self.say(f"Stuck? python -m exercises hint {exercise.number}  ({left} hint(s) left)")
        return 1

    # -- watch -----------------------------------------------------------------

    def watch(self, exercise: Exercise | None, *, interval: float = WATCH_INTERVAL) -> int:
        """Run the checks, then again after every save, until Ctrl-C.

        With no exercise, watch the first one not passed yet, and go on to the
        next one each time the checks pass (as rustlings does).
        """
        follow = exercise is None
        current = exercise or self.first_not_passed()
        if current is None:
            return self.next()
        try:
            while True:
                copy, _ = workspace.ensure_copy(current)
                seen = _mtimes(copy)
                code = self.run(current)
                self.progress = Progress()  # another runner (a second terminal) may have written it
                if code == 0 and follow:
                    following = self.first_not_passed()
                    if following is None:
                        return self.next()
                    self.say()
                    self.start(following)
                    current = following
                    continue
                self.say()
                self.say(self.style(f"Watching {_shown(copy)}/ for changes: save a file to run the checks "
                                    "again. Ctrl-C stops.", "dim"))
                self.out.flush()
                _wait_for_change(copy, seen, interval)
                self.say()
                self.say(self.style(f"{_shown(copy)} changed: running the checks again.", "bold"))
        except KeyboardInterrupt:
            self.say()
            self.say("Stopped watching. Your progress is saved.")
            return 0

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

    def reset(self, exercise: Exercise, *, hints: bool = False, hints_only: bool = False) -> int:
        if hints or hints_only:
            entry = self.progress[exercise.id]
            shown, entry.hints_shown = entry.hints_shown, 0
            self.progress.save()
            self.say(f"The hints of exercise {exercise.number:02d} start again from the first "
                     f"({shown} had been shown).")
            if hints_only:
                return 0
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


def _mtimes(directory: Path) -> dict[Path, float]:
    """Every file of the copy (caches aside) and when it was last modified."""
    found: dict[Path, float] = {}
    for path in directory.rglob("*"):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        try:
            found[path] = path.stat().st_mtime_ns
        except OSError:  # removed between the listing and the look: the next look sees it gone
            continue
    return found


def _wait_for_change(directory: Path, seen: dict[Path, float], interval: float,
                     sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll until a file of ``directory`` is added, removed or saved again."""
    while _mtimes(directory) == seen:
        sleep(interval)


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
    commands.add_parser("next", help="start the first exercise you have not passed yet")
    watch = commands.add_parser("watch", help="run the checks on every save (Ctrl-C stops)",
                                description="Run the checks now and again every time a file of your copy is saved. "
                                "Without an exercise: the first one not passed yet, then the next, and so on.")
    watch.add_argument("exercise", nargs="?", help="the exercise (default: the first one not passed yet)")
    watch.add_argument("--interval", type=float, default=WATCH_INTERVAL, help=argparse.SUPPRESS)
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
        if name == "reset":
            command.add_argument("--hints", action="store_true", help="also start the hints again from the first")
            command.add_argument("--hints-only", action="store_true",
                                 help="only start the hints again; leave your copy as it is")
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
    if args.command == "next":
        return runner.next()
    try:
        exercise = find(runner.catalog, args.exercise) if args.exercise is not None else None
    except UnknownExercise as exc:
        print(f"python -m exercises {args.command}: {exc}", file=sys.stderr)
        return 2
    if args.command == "watch":
        return runner.watch(exercise, interval=args.interval)
    assert exercise is not None
    if args.command == "solution":
        return runner.solution(exercise, args.yes)
    if args.command == "reset":
        return runner.reset(exercise, hints=args.hints, hints_only=args.hints_only)
    command = {"start": runner.start, "run": runner.run, "hint": runner.hint}[args.command]
    return command(exercise)
