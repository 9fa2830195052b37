"""Capture each chapter demo's real output for its page's "Run it" section, and check it has not drifted.

Every chapter has a demo (``python -m chapters.chNN_slug.demo``). This tool runs each one and
writes what it printed (stdout and stderr, in order) to ``docs/chapters/output/chNN_slug.txt``
between section markers; the page includes it in a ``text`` fence::

    --8<-- "docs/chapters/output/chNN_slug.txt:output"

``--check`` (and ``tests/docs/test_demo_output.py``, which CI runs) runs every demo again and
compares its output with the committed file, line by line, after masking only what honestly
differs between two runs of the same code: measured times and rates (a number with a decimal
point or a unit: ``0.20 s``, ``3.6 ms``, ``1,742 ns``, ``20x``; the number of snapshots a
reader took while real threads ran), process ids, dates and times, memory addresses and random
ids, and the spaces that align a table. Every other count, the names, verdicts,
messages and the order of the lines must match exactly, so a demo whose story changes (a count,
an exception, a line added or lost) makes the check fail until the output is regenerated.

Usage::

    python tools/demo_output.py                      # run every demo, rewrite every output file
    python tools/demo_output.py ch03_pool ch05_two_queues   # only these chapters
    python tools/demo_output.py --check              # exit 1 naming every stale or missing file
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_DIR = Path("docs/chapters/output")
CHAPTER = re.compile(r"ch\d\d_[a-z0-9_]+")
REGENERATE = "python tools/demo_output.py"
# The section markers of an output file, spelled in two parts so this file marks no section.
START, END = "--8<" + "-- [start:output]", "--8<" + "-- [end:output]"
WIDTH = 88  # the code column of the site (docs/assets/stylesheets/book.css)
TIMEOUT = 300.0  # a deadlock detector: every demo finishes in seconds

MASKS = [
    # ISO dates and times, with or without fractions and offsets
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?"), "<time>"),
    (re.compile(r"\b(pid|pids|process) \d+"), r"\1 <pid>"),
    (re.compile(r"\b0x[0-9a-f]+\b"), "<address>"),
    (re.compile(r"\b[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{8}\.\.\."), "<id>..."),
    # measured quantities: a decimal number, or any number with a unit of time, size or ratio
    (re.compile(r"(?<![\w.])\d[\d,]*\.\d+(?:e-?\d+)?"), "<n>"),
    (re.compile(r"(?<![\w.])\d[\d,]*(?= ?(?:s|ms|us|µs|ns|B|KiB|MiB|x)\b)"), "<n>"),
    # how many snapshots a reader managed to take while real threads ran: a rate, in effect
    (re.compile(r"(?<![\w.])\d[\d,]* snapshots\b"), "<n> snapshots"),
]


def chapters(root: Path = ROOT) -> list[str]:
    """The chapter packages that have a demo, in order."""
    base = root / "chapters"
    return sorted(path.name for path in base.iterdir() if CHAPTER.fullmatch(path.name) and (path / "demo.py").is_file())


def output_path(chapter: str) -> Path:
    return OUTPUT_DIR / f"{chapter}.txt"


def run(chapter: str, root: Path = ROOT) -> str:
    """What ``python -m chapters.<chapter>.demo`` prints, stdout and stderr merged in order."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0", "COLUMNS": str(WIDTH)}
    paths = [str(root), str(root / "reference"), str(root / "reference/demo")]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env["PYTHONPATH"]] if env.get("PYTHONPATH") else paths)
    done = subprocess.run(
        [sys.executable, "-m", f"chapters.{chapter}.demo"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"chapters.{chapter}.demo exited {done.returncode}:\n{done.stdout}")
    return done.stdout


def render(chapter: str, output: str) -> str:
    """The output file: a header saying where it comes from, then the output as a section."""
    lines = output.rstrip("\n").splitlines()
    return "\n".join(
        [
            f"Output of `python -m chapters.{chapter}.demo`,",
            f"written by `{REGENERATE}`. Do not edit by hand:",
            "tests/docs/test_demo_output.py runs the demo again and compares.",
            START,
            *lines,
            END,
            "",
        ]
    )


def shown(text: str) -> list[str]:
    """The output lines of a rendered file (what the page shows)."""
    lines = text.splitlines()
    try:
        start, end = lines.index(START), lines.index(END)
    except ValueError:
        return []
    return lines[start + 1 : end]


def normalise(line: str) -> str:
    """A line with what differs between honest runs masked (see the module docstring)."""
    for pattern, replacement in MASKS:
        line = pattern.sub(replacement, line)
    return re.sub(r"[ \t]+", " ", line).strip()


def problems(chapter: str, committed: str | None, fresh: str) -> list[str]:
    """Why the committed output of ``chapter`` does not match a fresh run (empty when it does)."""
    name = output_path(chapter).as_posix()
    found = [
        f"{name}: line {number} is {len(line)} characters, wider than the page's {WIDTH}: {line[:40]!r}..."
        for number, line in enumerate(fresh.splitlines(), 1)
        if len(line) > WIDTH
    ]
    if committed is None:
        return [f"{name}: missing", *found]
    old = [normalise(line) for line in shown(committed)]
    new = [normalise(line) for line in fresh.rstrip("\n").splitlines()]
    if old != new:
        diff = difflib.unified_diff(old, new, "committed (masked)", "this run (masked)", lineterm="", n=1)
        found.append(f"{name}: the demo's output changed:\n" + "\n".join(diff))
    return found


def check(root: Path = ROOT, only: list[str] | None = None) -> list[str]:
    found = []
    for chapter in only or chapters(root):
        path = root / output_path(chapter)
        committed = path.read_text(encoding="utf-8") if path.is_file() else None
        found += problems(chapter, committed, run(chapter, root))
    return found


def write(root: Path = ROOT, only: list[str] | None = None) -> list[Path]:
    written = []
    for chapter in only or chapters(root):
        path = root / output_path(chapter)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(chapter, run(chapter, root)), encoding="utf-8")
        written.append(path.relative_to(root))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter packages (default: every chapter with a demo)")
    parser.add_argument("--check", action="store_true", help="exit 1 if an output file is stale or missing")
    args = parser.parse_args(argv)
    if args.check:
        found = check(ROOT, args.chapters)
        print("\n".join(found) or "demo outputs are up to date")
        if found:
            print(f"regenerate with `{REGENERATE}` and commit the result", file=sys.stderr)
        return 1 if found else 0
    for path in write(ROOT, args.chapters):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
