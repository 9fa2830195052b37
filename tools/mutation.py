"""Mutation testing of the core: mutmut 3 over reference/dualqueue, against tests/core.

    python tools/mutation.py [--scratch DIR] [--max-children N] [--timeout-multiplier X]

mutmut 3 mutates a ``src/`` folder it maps to the package name, and copies the tests
next to it. The repository keeps the core in ``reference/``, so this builds a scratch
project (``$TMPDIR/dualqueue-mutation`` by default, outside the repository, whose checks
would otherwise see the copies): ``src`` is a symbolic link to ``reference`` (the
core is mutated through it, never in place: mutmut writes its mutants under the
scratch's ``mutants/``), ``tests`` and ``chapters`` are copies, and ``setup.cfg``
configures mutmut. The Django adapter is not mutated.

Not linked, and so deselected: the tests that trace a method's ``__code__`` line by
line (mutmut's trampolines replace the code objects they trace) and the ones that run
the core in a subprocess or a forked child (mutmut cannot see which mutant they ran).
Each mutant runs only the tests that reached it, with a CPU-time limit of
``(estimated test time + 1 s) * multiplier * 2``: a mutant that spins is stopped and
counted as killed by timeout. A mutant that deadlocks uses no CPU: pytest-timeout
(``--pytest-timeout`` seconds per test) stops it, and the failing test kills it.

At the end it prints the score per module (killed + timeout over tested) and writes
``mutants/summary.json`` in the scratch, with every surviving mutant's name.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Tests that cannot be linked to the mutant they ran (see the module's docstring).
DESELECT = [
    "tests/core/test_stats.py::test_no_lost_update_in_any_interleaving",
    "tests/core/test_stats.py::test_interleaving_exploration_finds_the_lost_update_of_an_unlocked_counter",
    "tests/core/test_stats.py::test_a_snapshot_between_any_two_lines_of_the_counting_code_is_consistent",
    "tests/core/test_stats.py::test_line_exploration_catches_the_torn_snapshot_of_an_unlocked_counter",
]

SETUP_CFG = """\
[mutmut]
source_paths=src/dualqueue
do_not_mutate=src/dualqueue/django/*
also_copy=
    chapters
    examples
pytest_add_cli_args_test_selection=tests/core
pytest_add_cli_args={args}
timeout_multiplier={multiplier}
process_isolation=fork

[tool:pytest]
pythonpath = .
addopts = -p no:cacheprovider -q
timeout = {pytest_timeout}
filterwarnings =
    error::pytest.PytestUnhandledThreadExceptionWarning
    ignore:This process .* is multi-threaded, use of fork:DeprecationWarning
markers =
    slow: real-thread or subprocess tests
"""


def build(scratch: Path, multiplier: float, deselect: list[str], pytest_timeout: int) -> None:
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    (scratch / "src").symlink_to(ROOT / "reference", target_is_directory=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("chapters", "examples"):  # imported by tests/core
        shutil.copytree(ROOT / package, scratch / package, ignore=ignore)
    (scratch / "tests").mkdir()
    for name in ("__init__.py", "conftest.py", "figures.py", "forking.py"):
        shutil.copy2(ROOT / "tests" / name, scratch / "tests" / name)
    shutil.copytree(ROOT / "tests" / "core", scratch / "tests" / "core", ignore=ignore)
    # setup.cfg lists are one item a line: the first line stays empty.
    args = "".join(f"\n    --deselect={test}" for test in DESELECT + deselect)
    config = SETUP_CFG.format(args=args, multiplier=multiplier, pytest_timeout=pytest_timeout)
    (scratch / "setup.cfg").write_text(config)


def summarize(scratch: Path) -> dict[str, dict[str, object]]:
    """Per module: the count of each mutmut verdict, the score, and the survivors' names."""
    from mutmut.stats import status_by_exit_code  # the verdicts as mutmut names them

    summary: dict[str, dict[str, object]] = {}
    for meta in sorted((scratch / "mutants" / "src" / "dualqueue").glob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        verdicts = Counter(status_by_exit_code[code] for code in codes.values())
        tested = sum(n for v, n in verdicts.items() if v in ("killed", "timeout", "survived", "suspicious"))
        caught = verdicts["killed"] + verdicts["timeout"]
        summary[meta.name.removesuffix(".meta")] = {
            "mutants": len(codes),
            "verdicts": dict(verdicts),
            "score": round(100 * caught / tested, 1) if tested else None,
            "survived": sorted(k for k, c in codes.items() if status_by_exit_code[c] == "survived"),
        }
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()) / "dualqueue-mutation")
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--timeout-multiplier", type=float, default=5.0)
    parser.add_argument("--summary-only", action="store_true", help="summarize a finished run")
    parser.add_argument("--resume", action="store_true", help="continue the run in --scratch")
    parser.add_argument(
        "--pytest-timeout", type=int, default=20,
        help="seconds per test (a mutant that deadlocks waits on this, not on the CPU limit)",
    )
    parser.add_argument(
        "--deselect", action="append", default=[], metavar="TEST",
        help="also leave out TEST (mutmut refuses to start while a selected test fails)",
    )
    options = parser.parse_args()
    scratch = options.scratch.resolve()
    if not options.summary_only:
        if not options.resume:
            build(scratch, options.timeout_multiplier, options.deselect, options.pytest_timeout)
        mutmut = Path(sys.executable).with_name("mutmut")
        env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "dev")}
        command = [str(mutmut), "run", "--max-children", str(options.max_children)]
        subprocess.run(command, cwd=scratch, env=env, check=False)
    summary = summarize(scratch)
    (scratch / "mutants" / "summary.json").write_text(json.dumps(summary, indent=2))
    total = Counter[str]()
    for module, data in summary.items():
        verdicts: dict[str, int] = data["verdicts"]  # type: ignore[assignment]
        total.update(verdicts)
        print(f"{module:14} {data['mutants']:5} mutants  score {data['score']}%  {verdicts}")
    tested = total["killed"] + total["timeout"] + total["survived"] + total["suspicious"]
    caught = total["killed"] + total["timeout"]
    score = round(100 * caught / max(tested, 1), 1)
    print(f"{'all':14} {sum(total.values()):5} mutants  score {score}%  {dict(total)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
