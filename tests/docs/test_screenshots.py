"""The Django guide's screenshots are current: taken after the last change to what they show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tools import screenshots

ROOT = Path(__file__).resolve().parents[2]


def test_the_guides_screenshots_are_not_stale() -> None:
    problems = screenshots.stale(ROOT)
    assert not problems, (
        "the Django guide's screenshots are stale:\n" + "\n".join(problems) + f"\nrun `{screenshots.REGENERATE}`"
    )


def test_the_check_catches_an_edited_template_and_a_replaced_png(tmp_path: Path) -> None:
    for pattern in (*screenshots.INPUTS, f"{screenshots.SHOTS}/*", str(screenshots.GUIDE)):
        for path in ROOT.glob(pattern):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    screenshots.write(tmp_path)  # a copy taken "now": current by construction, whatever the repository's state
    assert screenshots.stale(tmp_path) == []
    template = tmp_path / "reference/demo/esg/sites/templates/sites/detail.html"
    template.write_text(template.read_text() + "\n<!-- changed -->\n")
    png = next((tmp_path / screenshots.SHOTS).glob("*.png"))
    png.write_bytes(png.read_bytes() + b"\0")
    problems = screenshots.stale(tmp_path)
    assert any("detail.html changed" in p for p in problems), problems
    assert any("PNGs" in p for p in problems), problems
    manifest = json.loads((tmp_path / screenshots.MANIFEST).read_text())
    assert manifest["regenerate"] == "make screenshots"
