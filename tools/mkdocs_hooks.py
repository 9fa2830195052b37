"""Build-time hooks for the book's site (``hooks:`` in ``mkdocs.yml``).

* A chapter page's snippets highlight the lines that chapter changed (``tools/highlights.py``
  adds ``hl_lines`` to the fences before pymdownx.snippets fills them in).
* The generated diff pages rank below the chapters in search: they repeat every line of
  code the chapters show, and a reader searching for a name wants the chapter that explains it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # mkdocs loads this file by path: make `tools` importable
    sys.path.insert(0, str(ROOT))

from tools import highlights  # noqa: E402

DIFF_PAGES = "chapters/diffs/"
DIFF_PAGE_BOOST = 0.2  # the search plugin's per-page boost; chapters keep the default 1


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    src = page.file.src_uri
    if src.startswith(DIFF_PAGES):
        page.meta.setdefault("search", {}).setdefault("boost", DIFF_PAGE_BOOST)
        return markdown
    return highlights.annotate(markdown, src, ROOT)
