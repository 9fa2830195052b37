"""The docs show only code that runs: checks over every page, each proven on a small bad example.

Every rule is checked twice: once over the real ``docs/`` and the real tree
(must find nothing), once over a made-up page or tree with the fault in it
(must report it), so no check here can pass by looking at nothing.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import textwrap
from pathlib import Path

import dualqueue
import pytest

from . import checks

ROOT = Path(__file__).resolve().parents[2]
FENCE = "`" * 3  # spelled out so that this file holds no fence of its own


def page(text: str) -> str:
    return textwrap.dedent(text).replace("~~~", FENCE)


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(text), encoding="utf-8")
    return root


def marker(kind: str, name: str) -> str:
    # Built at run time so that this file marks no section of its own.
    return "# --8<-" + f"- [{kind}:{name}]"


def include(target: str) -> str:
    return "--8<-" + f'- "{target}"'


# -- (a) no hand-typed Python --------------------------------------------------------


def test_no_page_has_hand_typed_python() -> None:
    problems = [f"docs/{name} {p}" for name, text in checks.pages(ROOT).items() for p in checks.bare_python(text)]
    assert not problems, "hand-typed Python in the docs (include it from a tested file instead):\n" + "\n".join(
        problems
    )


def test_the_bare_python_check_reports_hand_typed_code_and_accepts_includes_and_sessions() -> None:
    text = page(f"""
        ~~~python
        {include("chapters/ch03_pool/pool.py:submit")}
        ~~~

        ~~~pycon
        >>> 1 + 1
        2
        ~~~

        !!! note
            ~~~py
            tasks = TaskSystem()
            ~~~

        ~~~
        import threading
        ~~~

        ~~~bash
        make docs
        ~~~

        ~~~python
        {include("a.py:x")}
        print("and one more line")
        ~~~
        """)
    problems = checks.bare_python(text)
    assert [p.split(":")[0] for p in problems] == ["line 12", "line 16", "line 24"], problems
    assert "py fence with hand-typed code" in problems[0]
    assert "unlabelled fence that holds Python" in problems[1]


# -- (b) every include resolves, and the file it names is exercised by the tests ----------


def test_every_include_names_an_existing_file_and_section() -> None:
    found, _ = checks.all_includes(ROOT)
    assert found, "no page includes any code: the include checks would be checking nothing"
    problems = checks.unresolved_includes(ROOT)
    assert not problems, "\n".join(problems)


def test_unresolved_includes_are_reported(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "pkg/a.py": f"""
            {marker("start", "real")}
            x = 1
            {marker("end", "real")}
            """,
        "docs/index.md": f"""
            {include("pkg/a.py:real")}
            {include("pkg/a.py:missing")}
            {include("pkg/b.py:real")}
            {include("pkg/a.py")}
            {include("pkg/a.py:2:3")}
            --8<--
            """,
    })
    problems = checks.unresolved_includes(root)
    assert len(problems) == 5, problems
    assert "no section 'missing'" in problems[1]
    assert "pkg/b.py does not exist" in problems[2]
    assert "whole file" in problems[3] and "line range" in problems[4]
    assert "block form" in problems[0]


def test_every_included_file_is_imported_or_run_by_a_test() -> None:
    problems = checks.unexercised_includes(ROOT)
    assert not problems, "\n".join(problems)
    found, _ = checks.all_includes(ROOT)
    names = {checks.module_name(ROOT, ROOT / include.path) for include in found} - {None}
    assert names, "no included file is a module"
    unimportable = sorted(name for name in names if importlib.util.find_spec(name) is None)
    assert not unimportable, f"included modules that do not import from the test environment: {unimportable}"


def test_an_included_module_that_no_test_reaches_is_reported(tmp_path: Path) -> None:
    section = f"""
        {marker("start", "s")}
        VALUE = 1
        {marker("end", "s")}
        """
    root = write(tmp_path, {
        "pkg/__init__.py": "from .reached import VALUE\n",
        "pkg/reached.py": section,
        "pkg/unreached.py": section,
        "pkg/by_name.py": section,
        "tests/__init__.py": "",
        "tests/test_pkg.py": """
            import subprocess, sys
            from pkg import VALUE

            def test_it():
                subprocess.run([sys.executable, "-m", "pkg.by_name"])
                assert VALUE == 1
            """,
        "docs/index.md": "\n".join(include(f"pkg/{name}.py:s") for name in ("reached", "unreached", "by_name")),
    })
    assert checks.unexercised_includes(root) == [
        "pkg/unreached.py (module pkg.unreached) is included in the docs but no test imports or runs it"
    ]


def test_exercise_files_count_when_the_checker_runs_their_exercise(tmp_path: Path) -> None:
    section = f"""
        {marker("start", "s")}
        VALUE = 1
        {marker("end", "s")}
        """
    files = {
        "exercises/__init__.py": "",
        "exercises/checker.py": "def check(exercise, implementation): ...\n",
        "exercises/manifest.toml": '[[exercise]]\nid = "ex01_listed"\n',
        "exercises/ex01_listed/solution/worker.py": section,
        "exercises/ex02_unlisted/solution/worker.py": section,
        "tests/__init__.py": "",
        "tests/test_nothing.py": "def test_it():\n    assert True\n",
        "docs/index.md": "\n".join(
            include(f"exercises/{name}/solution/worker.py:s") for name in ("ex01_listed", "ex02_unlisted")
        ),
    }
    root = write(tmp_path, files)
    assert len(checks.unexercised_includes(root)) == 2, "no test drives the checker: neither counts"
    (root / "tests/test_exercises.py").write_text("from exercises.checker import check\n", encoding="utf-8")
    assert checks.unexercised_includes(root) == [
        "exercises/ex02_unlisted/solution/worker.py (not an importable module) is included in the docs"
        " but no test imports or runs it"
    ]


def test_module_names_follow_the_import_roots() -> None:
    assert checks.module_name(ROOT, ROOT / "reference/dualqueue/pool.py") == "dualqueue.pool"
    assert checks.module_name(ROOT, ROOT / "chapters/ch03_pool/pool.py") == "chapters.ch03_pool.pool"
    assert checks.module_name(ROOT, ROOT / "tests/core/interleave.py") == "tests.core.interleave"
    assert checks.module_path(ROOT, "dualqueue.clock") == ROOT / "reference/dualqueue/clock.py"
    assert checks.module_path(ROOT, "threading") is None


# -- (c) every marked section is shown ------------------------------------------------


def test_every_marked_section_is_shown_on_a_page() -> None:
    problems = checks.unused_sections(ROOT)
    assert not problems, "sections no page includes (include them, or remove the markers):\n" + "\n".join(problems)


def test_an_unused_section_is_reported_but_a_chapter_copy_of_a_shown_one_is_not(tmp_path: Path) -> None:
    body = f"""
        {marker("start", "work")}
        work = 1
        {marker("end", "work")}
        {marker("start", "spare")}
        spare = 1
        {marker("end", "spare")}
        """
    root = write(tmp_path, {
        "chapters/ch01_first/pool.py": body,
        "chapters/ch02_second/pool.py": body,  # copied forward: its "work" was shown in chapter 1
        "reference/dualqueue/pool.py": body,  # where the chapters end: its "work" was shown in a chapter's copy
        "reference/dualqueue/other.py": body,  # no chapter shows a copy of this file
        "docs/index.md": include("chapters/ch01_first/pool.py:work"),
    })
    assert checks.unused_sections(root) == [
        "chapters/ch01_first/pool.py: section 'spare' is shown on no page",
        "chapters/ch02_second/pool.py: section 'spare' is shown on no page",
        "reference/dualqueue/other.py: section 'spare' is shown on no page",
        "reference/dualqueue/other.py: section 'work' is shown on no page",
        "reference/dualqueue/pool.py: section 'spare' is shown on no page",
    ]


def test_section_markers_must_pair_up() -> None:
    names, problems = checks.sections(
        "\n".join([marker("start", "a"), marker("end", "a"), marker("start", "b"), marker("end", "c")])
    )
    assert names == {"a"}
    assert problems == ["line 4: section 'c' ends without a start", "line 3: section 'b' never ends"]


# -- (d) every >>> session runs ------------------------------------------------------


def test_every_doctest_session_in_the_docs_passes() -> None:
    attempted = 0
    for name, text in checks.pages(ROOT).items():
        tried, failed, report = checks.run_sessions(text, f"docs/{name}")
        assert not failed, report
        attempted += tried
    assert attempted, "no >>> session found in the docs (the testing guide has one)"


def test_a_wrong_session_fails(tmp_path: Path) -> None:
    text = page("""
        ~~~pycon
        >>> from dualqueue import FakeClock
        >>> clock = FakeClock()
        ~~~

        Later on the page, the same namespace:

        ~~~pycon
        >>> clock.advance(2); clock.now()
        3.0
        ~~~
        """)
    attempted, failed, report = checks.run_sessions(text, "made-up.md")
    assert (attempted, failed) == (3, 1) and "Expected:\n    3.0\nGot:\n    2.0" in report


# The core's package and clock docstrings are already run by tests/core/test_api.py.
DOCTESTED_IN_CORE_TESTS = {"dualqueue", "dualqueue.clock"}


def test_core_docstring_sessions_run() -> None:
    core_tests = (ROOT / "tests/core/test_api.py").read_text(encoding="utf-8")
    assert "doctest.testmod(module)" in core_tests and "[dualqueue, dualqueue.clock]" in core_tests, (
        "tests/core/test_api.py no longer runs the package's and the clock's doctests: run them here"
    )
    with_sessions = []
    for path in sorted((ROOT / "reference/dualqueue").glob("*.py")):
        if ">>>" not in path.read_text(encoding="utf-8"):
            continue
        name = checks.module_name(ROOT, path)
        with_sessions.append(name)
        if name in DOCTESTED_IN_CORE_TESTS:
            continue
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} doctest examples failed"
    assert set(with_sessions) >= DOCTESTED_IN_CORE_TESTS


# -- (e) the nav and the API page --------------------------------------------------------


def test_the_nav_lists_every_page_and_only_pages() -> None:
    problems = checks.nav_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_nav_problems_are_reported(tmp_path: Path) -> None:
    root = write(tmp_path, {
        "mkdocs.yml": """
            markdown_extensions:
              - pymdownx.superfences:
                  custom_fences:
                    - format: !!python/name:pymdownx.superfences.fence_code_format
            nav:
              - Home: index.md
              - Guides:
                  - guides/gone.md
              - Elsewhere: https://example.org/
            """,
        "docs/index.md": "# Home\n",
        "docs/guides/orphan.md": "# Orphan\n",
    })
    assert checks.nav_problems(root) == [
        "docs/guides/orphan.md is not in the nav of mkdocs.yml",
        "the nav names guides/gone.md, which is not a page under docs/",
    ]


def test_the_api_page_renders_every_public_name() -> None:
    assert not checks.api_problems(ROOT, list(dualqueue.__all__))


def test_a_public_name_missing_from_the_api_page_is_reported(tmp_path: Path) -> None:
    root = write(tmp_path, {"docs/reference/api.md": "::: dualqueue.TaskSystem\n"})
    assert checks.api_problems(root, ["TaskSystem", "WorkerPool"]) == [
        "docs/reference/api.md does not render dualqueue.WorkerPool"
    ]


@pytest.mark.parametrize("name", ["index.md", "reference/api.md", "guides/testing-concurrency.md"])
def test_the_pages_this_suite_relies_on_exist(name: str) -> None:
    assert (ROOT / "docs" / name).is_file()


def test_a_demo_output_counts_only_when_a_test_runs_the_output_check(tmp_path: Path) -> None:
    files = {
        "chapters/__init__.py": "",
        "chapters/ch01_first/__init__.py": "",
        "chapters/ch01_first/demo.py": "print('hello')\n",
        "docs/chapters/output/ch01_first.txt": f"{marker('start', 'output')}\nhello\n{marker('end', 'output')}\n",
        "docs/chapters/output/ch02_no_demo.txt": f"{marker('start', 'output')}\nhi\n{marker('end', 'output')}\n",
        "tests/__init__.py": "",
        "tests/test_nothing.py": "def test_it():\n    assert True\n",
        "docs/index.md": "\n".join(
            include(f"docs/chapters/output/{name}.txt:output") for name in ("ch01_first", "ch02_no_demo")
        ),
    }
    root = write(tmp_path, files)
    assert len(checks.unexercised_includes(root)) == 2, "no test runs the output check: neither counts"
    (root / "tests/test_outputs.py").write_text(
        "from tools import demo_output\n\ndef test_it():\n    assert not demo_output.check()\n", encoding="utf-8"
    )
    assert checks.unexercised_includes(root) == [
        "docs/chapters/output/ch02_no_demo.txt is included in the docs but no test names it"
    ]


def test_no_code_block_includes_a_line_wider_than_the_page() -> None:
    found, _ = checks.all_includes(ROOT)
    assert found, "no page includes any code: the width check would be checking nothing"
    problems = checks.wide_includes(ROOT)
    assert not problems, "\n".join(problems)


def test_a_wide_line_in_a_code_block_is_reported_and_wide_prose_is_not(tmp_path: Path) -> None:
    wide = "x = " + "1" * (checks.PAGE_COLUMNS - 7)  # indented by 4: one column too many
    root = write(tmp_path, {
        "pkg/a.py": f"""
            {marker("start", "code")}
            def f() -> None:
                fits = 1
            {marker("end", "code")}
            {marker("start", "wide")}
            if True:
                {wide}
            {marker("end", "wide")}
            """,
        "pkg/notes.md": f"""
            {marker("start", "prose")}
            {"word " * 40}
            {marker("end", "prose")}
            """,
        "docs/index.md": f"""
            {FENCE}python
            {include("pkg/a.py:code")}
            {FENCE}

            {FENCE}python
            {include("pkg/a.py:wide")}
            {FENCE}

            {include("pkg/notes.md:prose")}
            """,
    })
    problems = checks.wide_includes(root)
    assert len(problems) == 1 and "pkg/a.py:wide" in problems[0], problems
    assert f"{checks.PAGE_COLUMNS + 1} columns" in problems[0], problems
