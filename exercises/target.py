"""Which implementation an exercise's tests run against: the starter, the solution, or the learner's copy.

An exercise's tests never import the code under test by a fixed name. They ask
for it by exercise and module name::

    worker = load("ex01_survive_exceptions", "worker")

and ``load`` reads the module from the directory chosen by the environment
variable ``EXERCISE_IMPL``:

* ``workspace`` (the default): the learner's working copy,
  ``exercises/workspace/<exercise>/`` (or under ``$EXERCISES_WORKSPACE``);
* ``starter`` or ``solution``: that folder of the exercise itself;
* any other value: a directory path holding the exercise's modules.

So one set of tests runs against all three: CI proves that the solution passes
and the untouched starter fails, and ``python -m exercises run NN`` runs the
same tests against the learner's copy. One process checks one implementation:
the module is loaded once, under a private name, and kept in ``sys.modules``
(Django and dataclasses look modules up there).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["ENV", "EXERCISES", "ImplementationNotFound", "implementation_dir", "load", "workspace_root"]

ENV = "EXERCISE_IMPL"
WORKSPACE_ENV = "EXERCISES_WORKSPACE"
EXERCISES = Path(__file__).resolve().parent


class ImplementationNotFound(LookupError):
    """The chosen implementation has no such module (usually: no workspace copy yet)."""


def workspace_root() -> Path:
    """Where the learners' working copies live: ``$EXERCISES_WORKSPACE`` or ``exercises/workspace``."""
    configured = os.environ.get(WORKSPACE_ENV)
    return Path(configured).resolve() if configured else EXERCISES / "workspace"


def implementation_dir(exercise: str) -> Path:
    """The directory the tests of ``exercise`` load their code from (see the module docstring)."""
    choice = os.environ.get(ENV, "workspace")
    if choice in ("starter", "solution"):
        return EXERCISES / exercise / choice
    if choice == "workspace":
        return workspace_root() / exercise
    return Path(choice).resolve()


def load(exercise: str, module: str) -> ModuleType:
    """Import ``<implementation dir>/<module>.py`` for ``exercise`` (once per process)."""
    name = f"_exercise_{exercise}_{module}"
    if name in sys.modules:
        return sys.modules[name]
    directory = implementation_dir(exercise)
    path = directory / f"{module}.py"
    if not path.is_file():
        number = exercise[2:4].lstrip("0")
        raise ImplementationNotFound(
            f"no {module}.py in {directory} (chosen by {ENV}={os.environ.get(ENV, 'workspace')!r}).\n"
            f"To work on the exercise, run `python -m exercises start {number}`: it copies the starter there."
        )
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[name]
        raise
    return loaded
