"""The last chapter's core is the reference core, byte for byte.

The book builds the core up chapter by chapter; chapter 13 (time) is where it arrives
(chapter 9 keeps the snapshot of the core as it was there, tested by its own tests).
So ``chapters/ch13_time/{errors,clock,retry,stats,pool,debounce,system,...}.py``
must be identical copies of ``reference/dualqueue/``: when the reference changes,
this test names the file that differs and the command that brings the chapter
up to date (then regenerate the diff pages with ``python tools/chapter_diffs.py``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import dualqueue
import pytest

from .conftest import FEATURE_VOCABULARY

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path("reference/dualqueue")
FINAL = Path("chapters/ch13_time")
CORE_MODULES = (
    "errors",
    "clock",
    "retry",
    "stats",
    "recent",
    "pool",
    "debounce",
    "system",
    "periodic",
)


def differences(
    root: Path, reference: Path = REFERENCE, final: Path = FINAL
) -> list[str]:
    """One line per core module that is missing from the final chapter or differs from
    the reference."""
    problems = []
    for module in CORE_MODULES:
        source, copy = reference / f"{module}.py", final / f"{module}.py"
        sync = f"cp {source} {copy}"
        if not (root / copy).is_file():
            problems.append(f"{copy} is missing; run: {sync}")
        elif (root / source).read_bytes() != (root / copy).read_bytes():
            problems.append(f"{copy} differs from {source}; run: {sync}")
    return problems


def test_the_last_chapters_core_is_a_byte_identical_copy_of_the_reference() -> None:
    problems = differences(ROOT)
    assert not problems, "chapter 13 is not the reference core:\n" + "\n".join(problems)


def test_the_reference_has_no_core_module_the_final_chapter_leaves_out() -> None:
    modules = {path.stem for path in (ROOT / REFERENCE).glob("*.py")} - {"__init__"}
    assert modules == set(CORE_MODULES), (
        f"the reference's modules are {sorted(modules)}; copy the new ones into "
        f"{FINAL} and list them here"
    )


def test_the_final_chapter_exports_the_public_names_and_every_feature() -> None:
    final = importlib.import_module("chapters.ch13_time")
    assert set(final.__all__) - {"FEATURES"} == set(dualqueue.__all__)
    for name in dualqueue.__all__:
        exported = getattr(final, name)
        assert exported.__module__.startswith("chapters.ch13_time."), (
            f"{name} comes from {exported.__module__}, "
            "not from the chapter's own copy of the core"
        )
    every_feature = FEATURE_VOCABULARY - {"priority"}  # priority was chapter 4's detour
    assert every_feature == final.FEATURES


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_the_check_names_the_differing_file_and_the_command_to_sync(
    tmp_path: Path, change: str
) -> None:
    for folder in (REFERENCE, FINAL):
        (tmp_path / folder).mkdir(parents=True)
        for module in CORE_MODULES:
            (tmp_path / folder / f"{module}.py").write_bytes(
                (ROOT / REFERENCE / f"{module}.py").read_bytes()
            )
    assert differences(tmp_path) == []
    copy = tmp_path / FINAL / "pool.py"
    if change == "edit":
        copy.write_bytes(copy.read_bytes().replace(b"daemon=True", b"daemon=False", 1))
    else:
        copy.unlink()
    (problem,) = differences(tmp_path)
    assert f"{FINAL}/pool.py" in problem
    assert f"run: cp {REFERENCE}/pool.py {FINAL}/pool.py" in problem
