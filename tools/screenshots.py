"""The Django guide's screenshots: which inputs they show, and whether they are stale.

``make screenshots`` runs the browser stories (``tests/e2e/test_demo_app_browser.py``, and
``tests/e2e/test_progress_browser.py`` for the analysis's progress bar) with
``DUALQUEUE_SCREENSHOTS=docs/guides/screenshots``, which saves one PNG per page state, then runs
this tool to write ``docs/guides/screenshots/manifest.json``: the SHA-256 of every input that
decides what the pages look like (templates, the status page's script, the views and the story
itself) and of every PNG. ``--check`` (what CI runs, as a test) recomputes the hashes and exits
non-zero naming what changed since the screenshots were taken: a template edited without new
screenshots, a PNG replaced by hand, a screenshot the guide shows that is missing.

Usage::

    python tools/screenshots.py           # write the manifest for the PNGs now in the folder
    python tools/screenshots.py --check   # exit 1, naming the stale inputs, if anything changed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = Path("docs/guides/screenshots")
MANIFEST = SHOTS / "manifest.json"
GUIDE = Path("docs/guides/django.md")
REGENERATE = "make screenshots"
# What the pages look like is decided by these files (globs, relative to the root).
INPUTS = (
    "reference/dualqueue/django/templates/dualqueue/*",
    "reference/dualqueue/django/views.py",
    "reference/dualqueue/django/processes.py",
    "reference/demo/templates/*.html",
    "reference/demo/templates/dualqueue/*.html",
    "reference/demo/esg/sites/templates/sites/*.html",
    "reference/demo/esg/sites/pages.py",
    "tests/e2e/test_demo_app_browser.py",
    "tests/e2e/test_progress_browser.py",
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def inputs(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): _sha(path)
        for pattern in INPUTS
        for path in sorted(root.glob(pattern))
        if path.is_file()
    }


def shots(root: Path) -> dict[str, str]:
    return {path.name: _sha(path) for path in sorted((root / SHOTS).glob("*.png"))}


def write(root: Path) -> Path:
    manifest = {"regenerate": REGENERATE, "inputs": inputs(root), "screenshots": shots(root)}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return root / MANIFEST


def stale(root: Path) -> list[str]:
    """One line per reason the screenshots are out of date; empty if they are current."""
    path = root / MANIFEST
    if not path.is_file():
        return [f"{MANIFEST} is missing"]
    manifest = json.loads(path.read_text())
    problems = []
    now, then = inputs(root), manifest.get("inputs", {})
    for name in sorted(set(now) | set(then)):
        if now.get(name) != then.get(name):
            problems.append(f"{name} changed since the screenshots were taken")
    if shots(root) != manifest.get("screenshots"):
        problems.append(f"the PNGs in {SHOTS} are not the ones the manifest records")
    guide = (root / GUIDE).read_text()
    for name in manifest.get("screenshots", {}):
        if f"screenshots/{name}" not in guide:
            problems.append(f"{GUIDE} does not show {name}")
    for line in guide.splitlines():
        if "](screenshots/" in line:
            shown = line.split("](screenshots/", 1)[1].split(")", 1)[0]
            if not (root / SHOTS / shown).is_file():
                problems.append(f"{GUIDE} shows screenshots/{shown}, which does not exist")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the screenshots are stale")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.root)
        for problem in problems:
            print(problem)
        if problems:
            print(f"the guide's screenshots are stale: run `{REGENERATE}` and commit the result", file=sys.stderr)
            return 1
        print("the guide's screenshots are up to date")
        return 0
    print(f"wrote {write(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
