"""A chapter's snippets highlight the lines that chapter changed: computed at build time, checked here.

``tools/highlights.py`` adds ``hl_lines`` to a chapter page's fences when the site is built
(``tools/mkdocs_hooks.py``), so the highlighting cannot go stale. These tests run it on a
made-up pair of chapters and on the real pages, and check the built HTML marks the lines.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tools import highlights

ROOT = Path(__file__).resolve().parents[2]
FENCE = "`" * 3


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def section(name: str, body: str) -> str:
    start, end = "# --8<" + f"-- [start:{name}]", "# --8<" + f"-- [end:{name}]"
    return f"{start}\n{body}{end}\n"


def include(target: str) -> str:
    return "--8<" + f'-- "{target}"'


def made_up(tmp_path: Path) -> Path:
    work_1 = "def work(item):\n    log(item)\n    run(item)\n    done(item)\n"
    work_2 = "def work(item):\n    log(item)\n    try:\n        run(item)\n    finally:\n        done(item)\n"
    return write(tmp_path, {
        "chapters/ch01_first/__init__.py": "",
        "chapters/ch01_first/worker.py": section("work", work_1),
        "chapters/ch02_second/__init__.py": "",
        "chapters/ch02_second/worker.py": section("work", work_2) + section("new", "def new():\n    pass\n"),
        "chapters/ch02_second/fresh.py": section("all", "x = 1\n"),
    })


def test_the_lines_a_chapter_changed_are_highlighted_and_nothing_else(tmp_path: Path) -> None:
    root = made_up(tmp_path)
    page = "\n".join([
        f"{FENCE}python", include("chapters/ch02_second/worker.py:work"), FENCE,
        f"{FENCE}python", include("chapters/ch02_second/fresh.py:all"), FENCE,
        f"{FENCE}python", include("chapters/ch02_second/worker.py:new"), FENCE,
        f"{FENCE}python", include("chapters/ch01_first/worker.py:work"), FENCE,
    ])
    annotated = highlights.annotate(page, "chapters/ch02_second.md", root)
    openings = [line for line in annotated.splitlines() if line.startswith(FENCE) and line != FENCE]
    assert openings == [
        f'{FENCE}python hl_lines="3-6"',  # try/finally added; run and done moved inside it
        f"{FENCE}python",  # a new file: all of it is new, nothing to single out
        f"{FENCE}python",  # a new section: the same
        f"{FENCE}python",  # chapter 1's code shown on chapter 2's page: not this chapter's change
    ]


def test_lines_of_several_includes_in_one_fence_are_counted_from_the_top(tmp_path: Path) -> None:
    root = made_up(tmp_path)
    page = "\n".join([
        f"{FENCE}python",
        include("chapters/ch02_second/fresh.py:all"),
        include("chapters/ch02_second/worker.py:work"),
        FENCE,
    ])
    assert f'{FENCE}python hl_lines="4-7"' in highlights.annotate(page, "chapters/ch02_second.md", root)


def test_a_fence_that_names_its_own_lines_is_left_alone(tmp_path: Path) -> None:
    root = made_up(tmp_path)
    page = f'{FENCE}python hl_lines="1"\n{include("chapters/ch02_second/worker.py:work")}\n{FENCE}'
    assert highlights.annotate(page, "chapters/ch02_second.md", root) == page


def test_a_real_chapter_highlights_what_its_diff_page_shows() -> None:
    page = (ROOT / "docs/chapters/ch06_stats_under_a_lock.md").read_text(encoding="utf-8")
    annotated = highlights.annotate(page, "chapters/ch06_stats_under_a_lock.md", ROOT)
    assert annotated.count("hl_lines=") >= 3, "chapter 6 changes the pool in several shown sections"
    numbers = highlights.highlight(
        ROOT, "chapters/ch06_stats_under_a_lock.md", "chapters/ch06_stats_under_a_lock/pool.py:submit"
    )
    shown = highlights.section_lines(
        (ROOT / "chapters/ch06_stats_under_a_lock/pool.py").read_text(encoding="utf-8"), "submit"
    )
    assert numbers and shown
    marked = [shown[n - 1] for n in numbers]
    assert any("_stats" in line for line in marked), f"chapter 6 counts a submit; highlighted: {marked}"
