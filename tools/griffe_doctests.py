"""A griffe extension for the API page: show docstring ``>>>`` sessions as console code.

The core's docstrings hold doctests written the standard-library way: ``>>>``
lines with their expected output, no markup. Markdown reads a ``>>>`` line as a
triple-nested blockquote, so this extension wraps each session (from its first
``>>>`` line to the next blank line) in a ```` ```pycon ```` fence before
mkdocstrings renders it. It changes what the page shows, never the source: the
doctests are still run from the source by the tests.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_sessions(text: str) -> str:
    """``text`` with each ``>>>`` session (up to the next blank line) fenced as ``pycon``."""
    out: list[str] = []
    in_session = False
    for line in text.splitlines():
        stripped = line.strip()
        if not in_session and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_session = True
        elif in_session and not stripped:
            out.append(f"{indent}```")
            in_session = False
        out.append(line)
    if in_session:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence every docstring's ``>>>`` sessions once the package is loaded."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_sessions(obj.docstring.value)
