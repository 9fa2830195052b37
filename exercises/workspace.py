"""The learner's working copies: ``exercises/workspace/<exercise>/``, made from the starter.

``ensure_copy`` copies the starter there the first time (and never overwrites a
copy that exists); ``reset`` puts the starter back, after moving the old copy to
``exercises/workspace/.backup/`` so that nothing a learner wrote is ever lost.
Git ignores the whole folder. ``$EXERCISES_WORKSPACE`` moves it elsewhere.

The copy leaves out the starter's snippet markers (``# --8<-- [start:name]``):
they exist for the site, which shows the starter itself, and a learner's copy
marking the same sections would look like code that the site forgot to show.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from .catalog import Exercise
from .target import workspace_root

__all__ = ["copy_of", "ensure_copy", "reset"]

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")
_MARKER = re.compile(r"^[ \t]*(#|<!--)[ \t]*-{1,}8<-{1,}[ \t]+\[[ \t]*(start|end)[ \t]*:[^\]]*\].*\n?", re.MULTILINE)


def _copy_without_markers(source: str, target: str) -> None:
    if source.endswith((".py", ".md")):
        text = Path(source).read_text(encoding="utf-8")
        Path(target).write_text(_MARKER.sub("", text), encoding="utf-8")
        shutil.copymode(source, target)
    else:
        shutil.copy2(source, target)


def copy_of(exercise: Exercise) -> Path:
    """Where the learner's copy of ``exercise`` lives (it may not exist yet)."""
    return workspace_root() / exercise.id


def ensure_copy(exercise: Exercise) -> tuple[Path, bool]:
    """Copy the starter into the workspace unless a copy exists. Returns (path, created)."""
    target = copy_of(exercise)
    if target.exists():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(exercise.starter, target, ignore=_IGNORED, copy_function=_copy_without_markers)
    return target, True


def reset(exercise: Exercise) -> tuple[Path, Path | None]:
    """Replace the learner's copy with a fresh starter. Returns (path, where the old copy went or None)."""
    target = copy_of(exercise)
    backup = None
    if target.exists():
        backup = workspace_root() / ".backup" / f"{exercise.id}-{time.strftime('%Y%m%d-%H%M%S')}"
        n = 1
        while backup.exists():
            n += 1
            backup = backup.with_name(f"{backup.name.split('~')[0]}~{n}")
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(backup))
    ensure_copy(exercise)
    return target, backup
