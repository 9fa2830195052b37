"""The runner's commands, on a temporary workspace and progress file: list, start, run, hint, reset, solution."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exercises import cli
from exercises.catalog import find, load_catalog

EXERCISE = find(load_catalog(), "1")
ROOT = Path(cli.__file__).resolve().parents[1]


@pytest.fixture
def learner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A learner's fresh workspace and progress file, in a temporary directory."""
    monkeypatch.setenv("EXERCISES_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("EXERCISES_STATE", str(tmp_path / "progress.json"))
    return tmp_path


def starter_without_markers() -> str:
    """The starter as the learner's copy gets it: the site's snippet markers left out."""
    lines = (EXERCISE.starter / "worker.py").read_text().splitlines(keepends=True)
    return "".join(line for line in lines if "--8<-- [" not in line)


def runner(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def status_of(listing: str, number: int) -> str:
    line = next(line for line in listing.splitlines() if line.startswith(f"{number:02d} "))
    return line.rsplit("  ", 1)[-1].strip()


def test_list_shows_every_exercise_not_started(learner: Path) -> None:
    code, out = runner("list")
    assert code == 0
    for exercise in load_catalog():
        assert f"{exercise.number:02d}  {exercise.title}" in out
        assert status_of(out, exercise.number) == "not started"
    assert "0 of 12 passed" in out


def test_start_copies_the_starter_and_shows_the_task(learner: Path) -> None:
    code, out = runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    assert code == 0 and copy.read_text() == starter_without_markers()
    assert "8<-" not in copy.read_text(), "the site's markers stay out of the learner's copy"
    assert "Copied the starter" in out and "Make it\nsurvive its tasks" in out.replace("  ", " ")
    copy.write_text(copy.read_text() + "\n# my change\n")
    code, out = runner("start", "01")
    assert "left as it was" in out and copy.read_text().endswith("# my change\n"), "start never overwrites a copy"
    assert status_of(runner("list")[1], 1) == "in progress"


def test_run_fails_on_the_starter_then_passes_on_a_solved_copy(learner: Path, capfd: pytest.CaptureFixture) -> None:
    code, out = runner("run", "1")
    assert code == 1, out
    assert "5 of 5 checks failed" in out and "hint 1" in out
    assert "Expected:" in capfd.readouterr().out, "pytest's output with the teaching messages was shown"
    shutil.copy(EXERCISE.solution / "worker.py", learner / "workspace" / EXERCISE.id / "worker.py")
    code, out = runner("run", "ex01")
    assert code == 0 and "passed: all 5 checks pass" in out, out
    assert status_of(runner("list")[1], 1) == "passed"
    state = json.loads((learner / "progress.json").read_text())
    assert state["exercises"][EXERCISE.id] == {"hints_shown": 0, "runs": 2, "last_result": "passed"}


def test_hint_shows_one_hint_at_a_time_and_remembers(learner: Path) -> None:
    hints = EXERCISE.hints()
    for n in range(1, len(hints) + 1):
        code, out = runner("hint", "1")
        assert code == 0 and f"Hint {n} of {len(hints)}" in out
        assert hints[n - 1].splitlines()[0] in out
    code, out = runner("hint", "1")
    assert "That was every hint" in out and hints[-1].splitlines()[0] in out
    state = json.loads((learner / "progress.json").read_text())
    assert state["exercises"][EXERCISE.id]["hints_shown"] == len(hints)
    assert status_of(runner("list")[1], 1) == "in progress"


def test_reset_restores_the_starter_and_keeps_the_old_copy(learner: Path) -> None:
    runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    copy.write_text("# my attempt\n")
    code, out = runner("reset", "1")
    assert code == 0 and "Restored the starter" in out and "previous copy was moved to" in out
    assert copy.read_text() == starter_without_markers()
    backups = list((learner / "workspace" / ".backup").glob(f"{EXERCISE.id}-*/worker.py"))
    assert [b.read_text() for b in backups] == ["# my attempt\n"]


def test_solution_asks_first_then_shows_where_it_is(learner: Path) -> None:
    code, out = runner("solution", "1")
    assert code == 0 and "--yes" in out and "solution/worker.py" not in out
    code, out = runner("solution", "1", "--yes")
    assert code == 0 and f"{EXERCISE.id}/solution/worker.py" in out


def test_an_unknown_exercise_is_a_clear_usage_error(learner: Path, capsys: pytest.CaptureFixture) -> None:
    for argv in (("run", "42"), ("hint", "debounce"), ("reset", "ex99")):
        code, out = runner(*argv)
        err = capsys.readouterr().err
        assert code == 2 and out == ""
        assert "no exercise" in err and "01, 02" in err and "python -m exercises list" in err


def test_python_dash_m_exercises_prints_the_help(learner: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "exercises"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("list", "start", "run", "hint", "reset", "solution"):
        assert f"python -m exercises {command}" in done.stdout


def test_run_says_so_when_the_copy_does_not_even_import(learner: Path) -> None:
    runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    copy.write_text(copy.read_text() + "\ndef unfinished(:\n")
    code, out = runner("run", "1")
    assert code == 1 and "the checks could not run" in out, out
