"""Every "Run it" section shows its demo's real output, and the output cannot drift from the demo.

``tools/demo_output.py`` captured each demo's output into ``docs/chapters/output/``; the page
includes it. Here each demo runs again and its output is compared with the committed one,
line by line, with only timings, pids, dates and random ids masked. The other tests show the
comparison can fail, on a changed count and on a lost line, and that every chapter page
with a demo includes its output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import demo_output

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python tools/demo_output.py"
CHAPTERS = demo_output.chapters(ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_committed_output_is_what_the_demo_prints(chapter: str) -> None:
    problems = demo_output.check(ROOT, [chapter])
    assert not problems, (
        f"chapter {chapter}'s demo output drifted from its page; regenerate with\n"
        f"    {REGENERATE} {chapter}\nand read the difference first:\n" + "\n".join(problems)
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_run_it_section_includes_the_demo_output(chapter: str) -> None:
    page = (ROOT / "docs/chapters" / f"{chapter}.md").read_text(encoding="utf-8")
    section = page.split("## Run it", 1)[-1]
    include = f'--8<-- "{demo_output.output_path(chapter).as_posix()}:output"'
    assert "## Run it" in page and include in section, (
        f"docs/chapters/{chapter}.md: its Run it section must show the demo's output:\n"
        f"```text\n{include}\n```"
    )


def test_only_what_differs_between_honest_runs_is_masked() -> None:
    line = "status of pid 4121 at 2026-12-05T12:08:25.077+00:00: 12 queued, 0.20 s, 1,742 ns, 3,515x"
    assert demo_output.normalise(line) == "status of pid <pid> at <time>: 12 queued, <n> s, <n> ns, <n>x"
    assert demo_output.normalise("lost a count in 8, tore a snapshot in 12") == (
        "lost a count in 8, tore a snapshot in 12"
    ), "counts are the story: they are never masked"


def test_a_changed_count_or_a_lost_line_is_drift_but_a_new_timing_is_not() -> None:
    committed = demo_output.render("ch99_made_up", "ran 4 analyses in 1.21 s\n12 queued\ndone\n")
    assert demo_output.problems("ch99_made_up", committed, "ran 4 analyses in 0.98 s\n12 queued\ndone\n") == []
    changed = demo_output.problems("ch99_made_up", committed, "ran 4 analyses in 0.98 s\n11 queued\ndone\n")
    lost = demo_output.problems("ch99_made_up", committed, "ran 4 analyses in 0.98 s\n12 queued\n")
    assert len(changed) == 1 and "-12 queued\n+11 queued" in changed[0]
    assert len(lost) == 1 and "-done" in lost[0]
    assert demo_output.problems("ch99_made_up", None, "x\n") == ["docs/chapters/output/ch99_made_up.txt: missing"]


def test_a_line_wider_than_the_page_is_reported() -> None:
    wide = "x" * (demo_output.WIDTH + 1)
    committed = demo_output.render("ch99_made_up", wide + "\n")
    (problem,) = demo_output.problems("ch99_made_up", committed, wide + "\n")
    assert re.search(rf"line 1 is {demo_output.WIDTH + 1} characters", problem)
