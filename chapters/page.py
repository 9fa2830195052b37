"""``page_print``: a demo's ``print`` that keeps each line within the book's code column.

Every chapter demo's output is captured for its page (``tools/demo_output.py``) and shown
in an 88-column box. A demo that reports a long value (a batch, a report) prints it
through this, run as ``python -m``: a line wider than the column is wrapped at spaces,
its continuation indented four spaces more than the line. Nothing is cut or reworded.
"""

from __future__ import annotations

import textwrap

WIDTH = 88  # the code column of the site (docs/assets/stylesheets/book.css)


def page_print(*values: object, sep: str = " ") -> None:
    for line in sep.join(map(str, values)).split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        wrapped = textwrap.wrap(
            line,
            width=WIDTH,
            subsequent_indent=indent + "    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        print("\n".join(wrapped) if wrapped else line)
