"""Every exercise in the manifest is complete: task, hints, starter, solution, checks, and a page on the site."""

from __future__ import annotations

import re

import pytest

from exercises.catalog import EXERCISES, find, load_catalog
from exercises.wrong import page_section

from .conftest import exercise_ids

ROOT = EXERCISES.parent
CATALOG = {e.id: e for e in load_catalog()}


def test_the_manifest_and_the_exercise_folders_agree() -> None:
    folders = sorted(p.name for p in EXERCISES.iterdir() if p.is_dir() and re.match(r"ex\d\d_", p.name))
    assert folders == sorted(CATALOG), "an exercise folder is missing from manifest.toml, or the reverse"
    numbers = [e.number for e in CATALOG.values()]
    assert numbers == list(range(1, len(numbers) + 1)), f"exercises must be numbered 1..n in order: {numbers}"
    assert len(numbers) >= 10


@pytest.mark.parametrize("exercise_id", exercise_ids())
def test_each_exercise_has_its_task_hints_starter_solution_and_checks(exercise_id: str) -> None:
    exercise = CATALOG[exercise_id]
    readme = (exercise.path / "README.md").read_text(encoding="utf-8")
    assert f"\n# Exercise {exercise.number}: " in readme, "the README's title names the exercise by number"
    assert "[start:readme]" in readme and "[end:readme]" in readme, "the site includes the README's 'readme' section"
    for section in ("## The task", "## Why it matters", "## How to check"):
        assert section in readme, f"{exercise_id}/README.md has no '{section}' section"
    assert "```python" not in readme, "READMEs are included in the site, which allows no hand-typed Python"
    assert len(exercise.hints()) >= 2 and all(exercise.hints()), "at least two hints, none empty"
    assert (exercise.path / "test_exercise.py").is_file()
    assert 1 <= exercise.difficulty <= 3
    assert (ROOT / "chapters").is_dir()
    for name in exercise.edit:
        starter, solution = exercise.starter / name, exercise.solution / name
        assert starter.is_file() and solution.is_file(), f"{exercise_id}: {name} missing from starter/ or solution/"
        assert starter.read_text() != solution.read_text(), f"{exercise_id}: the starter's {name} is the solution"


@pytest.mark.parametrize("exercise_id", exercise_ids())
def test_each_exercise_has_a_page_that_includes_its_files(exercise_id: str) -> None:
    exercise = CATALOG[exercise_id]
    page = ROOT / "docs" / "exercises" / f"{exercise_id}.md"
    assert page.is_file(), f"no docs/exercises/{exercise_id}.md"
    text = page.read_text(encoding="utf-8")
    assert f'--8<-- "exercises/{exercise_id}/README.md:readme"' in text, "the page includes the README"
    for n in range(1, len(exercise.hints()) + 1):
        assert f"exercises/{exercise_id}/hints.md:hint-{n}" in text, f"the page shows hint {n} (collapsed)"
    for name in exercise.edit:
        assert f"exercises/{exercise_id}/starter/{name}" in text, f"the page includes the starter's {name}"
        assert f"exercises/{exercise_id}/solution/{name}" in text, f"the page includes the solution's {name}"
    solution = text.split('<details class="success" markdown>\n<summary>Solution</summary>', 1)
    assert len(solution) == 2, "the solution is collapsed in a closed <details> block"
    assert f"exercises/{exercise_id}/solution/" in solution[1].split("</details>", 1)[0], "the solution is inside it"
    assert f"exercises/{exercise_id}/solution/" not in solution[0], "no solution code before the collapsed block"
    assert page_section(exercise) in solution[0], (
        "the page lists the exercise's wrong attempts as the catalog has them, before the solution: "
        "run `python -m exercises.wrong`"
    )
    index = (ROOT / "docs" / "exercises" / "index.md").read_text(encoding="utf-8")
    assert f"({exercise_id}.md)" in index, "the exercises index links to the page"


def test_exercises_are_found_by_number_or_name() -> None:
    catalog = list(CATALOG.values())
    first = catalog[0]
    for query in ("1", "01", "ex01", first.id, " EX01 "):
        assert find(catalog, query) is first, query
