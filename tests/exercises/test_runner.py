"""The runner's commands, on a temporary workspace and progress file, and the runner as a person sees it.

The first tests call the commands in-process; the last ones run ``python -m
exercises`` in a pseudo-terminal (colour, ``watch`` and its Ctrl-C) or through
a pipe, and read what a person would read.
"""

from __future__ import annotations

import io
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
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
    assert f"0 of {len(load_catalog())} passed" in out


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
    assert "8 of 8 checks failed" in out and "hint 1" in out
    assert "Expected:" in capfd.readouterr().out, "pytest's output with the teaching messages was shown"
    shutil.copy(EXERCISE.solution / "worker.py", learner / "workspace" / EXERCISE.id / "worker.py")
    code, out = runner("run", "ex01")
    assert code == 0 and "passed: all 8 checks pass" in out, out
    assert status_of(runner("list")[1], 1) == "passed"
    state = json.loads((learner / "progress.json").read_text())
    assert state["exercises"][EXERCISE.id] == {"hints_shown": 0, "runs": 2, "last_result": "passed",
                                               "passed_once": True}


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
    for command in ("list", "next", "start", "run", "watch", "hint", "reset", "solution"):
        assert f"python -m exercises {command}" in done.stdout


def test_run_says_so_when_the_copy_does_not_even_import(learner: Path) -> None:
    runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    copy.write_text(copy.read_text() + "\ndef unfinished(:\n")
    code, out = runner("run", "1")
    assert code == 1 and "the checks could not run" in out, out


def test_a_pass_is_kept_when_a_later_run_fails(learner: Path) -> None:
    runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    shutil.copy(EXERCISE.solution / "worker.py", copy)
    assert runner("run", "1")[0] == 0
    copy.write_text(starter_without_markers())  # a later edit breaks it again
    code, out = runner("run", "1")
    assert code == 1 and "passed before, and fails now" in out and "earlier pass is kept" in out, out
    listing = runner("list")[1]
    assert status_of(listing, 1) == "passed before, failing now"
    assert f"1 of {len(load_catalog())} passed (1 of them failing now)" in listing
    shutil.copy(EXERCISE.solution / "worker.py", copy)
    assert runner("run", "1")[0] == 0 and status_of(runner("list")[1], 1) == "passed"


def test_a_progress_file_from_before_kept_passes_counts_its_passes(learner: Path) -> None:
    (learner / "progress.json").write_text(json.dumps(
        {"exercises": {EXERCISE.id: {"hints_shown": 1, "runs": 3, "last_result": "passed"}}}))
    assert status_of(runner("list")[1], 1) == "passed"
    code, out = runner("next")
    assert code == 0 and "Exercise 02:" in out


def test_next_starts_the_first_exercise_not_passed_yet(learner: Path) -> None:
    code, out = runner("next")
    assert code == 0 and "Exercise 01:" in out and (learner / "workspace" / EXERCISE.id / "worker.py").is_file()
    catalog = load_catalog()
    state = {"exercises": {e.id: {"passed_once": True, "last_result": "failed", "runs": 2} for e in catalog[:4]}}
    (learner / "progress.json").write_text(json.dumps(state))
    code, out = runner("next")
    assert code == 0 and f"Exercise 05: {catalog[4].title}" in out, "a pass that fails now still counts as earned"
    state = {"exercises": {e.id: {"passed_once": True, "runs": 1} for e in catalog}}
    (learner / "progress.json").write_text(json.dumps(state))
    code, out = runner("next")
    n = len(catalog)
    assert code == 0 and f"Every exercise passed ({n} of {n})" in out


def test_reset_can_start_the_hints_again(learner: Path) -> None:
    runner("start", "1")
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    copy.write_text("# my attempt\n")
    runner("hint", "1")
    runner("hint", "1")
    code, out = runner("reset", "1", "--hints-only")
    assert code == 0 and "start again from the first (2 had been shown)" in out
    assert copy.read_text() == "# my attempt\n", "--hints-only leaves the copy alone"
    assert "Hint 1 of" in runner("hint", "1")[1]
    code, out = runner("reset", "1", "--hints")
    assert code == 0 and "start again from the first (1 had been shown)" in out and "Restored the starter" in out
    assert copy.read_text() == starter_without_markers()
    state = json.loads((learner / "progress.json").read_text())
    assert state["exercises"][EXERCISE.id]["hints_shown"] == 0
    code, out = runner("reset", "1")
    assert "start again from the first" not in out, "a plain reset keeps the hint count"


# -- as a person sees it: a terminal, a pipe ----------------------------------------------------------

ESC = "\x1b["


def environment(learner: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(EXERCISES_WORKSPACE=str(learner / "workspace"), EXERCISES_STATE=str(learner / "progress.json"),
               TERM="xterm-256color", **extra)
    return env


class Terminal:
    """``python -m exercises ...`` in a pseudo-terminal of its own: what it prints, and keys to press."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the runner, with the terminal as its controlling terminal
            # As a shell starts a foreground job: Ctrl-C and Ctrl-\\ do their default,
            # nothing blocked. A suite started in the background by a script (`make test &`)
            # inherits SIGINT ignored, and exec would pass that on to the runner.
            for sig in (signal.SIGINT, signal.SIGQUIT):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "exercises", *argv], env)
        self.screen = ""

    def read_until(self, text: str, timeout: float = 60.0) -> str:
        """Read until ``text`` appears after what was read before (a deadlock detector, not a latency claim)."""
        start = len(self.screen)
        deadline = time.monotonic() + timeout
        while text not in self.screen[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"never printed {text!r}; the terminal shows:\n{self.screen[-3000:]}")
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"exited before printing {text!r}:\n{self.screen[-3000:]}")
                self.screen += chunk.decode(errors="replace")
        return self.screen[start:]

    def press(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exit_code(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    self.screen += os.read(self.fd, 65536).decode(errors="replace")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the runner did not exit:\n{self.screen[-3000:]}")

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        terminal.close()


def test_list_is_coloured_in_a_terminal_and_plain_with_no_color_or_in_a_pipe(
    learner: Path, terminals: list[Terminal]
) -> None:
    (learner / "progress.json").write_text(json.dumps(
        {"exercises": {EXERCISE.id: {"passed_once": True, "last_result": "passed", "runs": 1}}}))
    coloured = Terminal(["list"], environment(learner))
    terminals.append(coloured)
    screen = coloured.read_until("exercises next")
    assert coloured.exit_code() == 0
    assert f"{ESC}32mpassed{ESC}0m" in screen, "a passed exercise is green in a terminal"
    plain = Terminal(["list"], environment(learner, NO_COLOR="1"))
    terminals.append(plain)
    assert ESC not in plain.read_until("exercises next") and plain.exit_code() == 0, "NO_COLOR is respected"
    piped = subprocess.run([sys.executable, "-m", "exercises", "list"], cwd=ROOT, env=environment(learner),
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "passed" in piped.stdout and ESC not in piped.stdout, "no colour in a pipe"
    forced = subprocess.run([sys.executable, "-m", "exercises", "list"], cwd=ROOT,
                            env=environment(learner, FORCE_COLOR="1"), capture_output=True, text=True, timeout=60)
    assert f"{ESC}32mpassed" in forced.stdout, "FORCE_COLOR forces it"


def test_watch_runs_again_on_save_and_stops_cleanly_on_ctrl_c(learner: Path, terminals: list[Terminal]) -> None:
    terminal = Terminal(["watch", "1", "--interval", "0.1"], environment(learner))
    terminals.append(terminal)
    first = terminal.read_until("Ctrl-C stops.")
    assert "checks failed" in first and f"{ESC}31m" in first, "the first run fails, in red"
    copy = learner / "workspace" / EXERCISE.id / "worker.py"
    shutil.copy(EXERCISE.solution / "worker.py", copy)
    os.utime(copy, ns=(time.time_ns(), time.time_ns() + 10**9))  # a save, even within the same clock tick
    second = terminal.read_until("Ctrl-C stops.")
    assert "changed: running the checks again" in second and "passed: all" in second, second
    before = len(terminal.screen)
    terminal.press(b"\x03")  # Ctrl-C, as a person presses it: SIGINT to the foreground process group
    code = terminal.exit_code()
    after = terminal.screen[before:]
    assert code == 0 and "Stopped watching" in after, terminal.screen[-2000:]
    assert "Traceback" not in after and "KeyboardInterrupt" not in after, after
    assert status_of(runner("list")[1], 1) == "passed", "the pass earned while watching is saved"


def test_watch_without_a_number_moves_on_when_an_exercise_passes(learner: Path, terminals: list[Terminal]) -> None:
    runner("start", "1")
    shutil.copy(EXERCISE.solution / "worker.py", learner / "workspace" / EXERCISE.id / "worker.py")
    terminal = Terminal(["watch", "--interval", "0.1"], environment(learner, NO_COLOR="1"))
    terminals.append(terminal)
    screen = terminal.read_until("Running the checks of exercise 02", timeout=120)
    assert "Exercise 01 passed" in screen and "Exercise 02:" in screen, screen[-3000:]
    assert ESC not in screen
    before = len(terminal.screen)
    terminal.press(b"\x03")  # while exercise 2's checks are running
    assert terminal.exit_code() == 0
    after = terminal.screen[before:]
    assert "Stopped watching" in after and "Traceback" not in after, after
