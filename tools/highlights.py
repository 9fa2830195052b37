"""Which lines of a chapter's snippet changed since the previous chapter: the page highlights them.

Each chapter is a package copied forward from the one before (``chapters/chNN_slug/``), and
its page includes sections of its files with pymdownx.snippets. As FastAPI's tutorial does,
a snippet highlights the lines this chapter added or changed, so a reader sees the step at a
glance. The highlighted lines are computed when the site is built (``tools/mkdocs_hooks.py``
adds ``hl_lines`` to the fence), from the same comparison the diff pages use
(``tools/chapter_diffs.py``): they cannot go stale.

For an include of ``chapters/chNN_slug/<file>:<section>`` on chapter NN's own page:

* the previous version is the same file in chapter NN-1 (or the file it was renamed from),
  or, for a chapter holding the core after chapters that hold none, in the last chapter that
  did (``chapter_diffs.predecessor``: chapter 13 is compared with chapter 9);
  if that file has the same section, the section is compared with it, else with the whole file;
  a file with no such origin (chapter 3's ``pool.py`` grew out of chapter 2's ``worker.py`` but
  changed too much to count as a rename) is compared section by section: with the section of
  the same name in a file of chapter NN-1, if one file has it, else not at all;
* a line is highlighted when the comparison marks it inserted or replaced (blank lines never);
* nothing is highlighted when the file is new in this chapter, or when every line of the
  snippet is new (highlighting all of it would say nothing).

A fence that already names ``hl_lines`` is left alone. Includes of other files (tests,
examples, benchmarks, another chapter's code) get no highlighting.
"""

from __future__ import annotations

import difflib
import functools
import re
import textwrap
from pathlib import Path

from tools import chapter_diffs

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
INCLUDE = re.compile(r"""^[ \t]*-{1,}8<-{1,}[ \t]+(?P<quote>["'])(?P<target>.+?)(?P=quote)[ \t]*$""")
SECTION = re.compile(r"-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<kind>start|end)[ \t]*:[ \t]*(?P<name>[a-z][-_0-9a-z]*)[ \t]*\]")
CHAPTER_PAGE = re.compile(r"^chapters/(?P<name>ch(?P<number>\d\d)_[a-z0-9_]+)\.md$")
CHAPTER_FILE = re.compile(r"^chapters/(?P<name>ch(?P<number>\d\d)_[a-z0-9_]+)/(?P<rest>.+)$")


def section_lines(text: str, name: str | None) -> list[str] | None:
    """A section's lines as snippets shows them (other markers dropped, dedented); the file without its markers if
    ``name`` is None; None if the section is not there."""
    lines, inside, found = [], name is None, False
    for line in text.splitlines():
        match = SECTION.search(line)
        if match:
            if name is not None and match["name"] == name:
                if match["kind"] == "start":
                    inside = found = True
                elif inside:
                    break
            continue
        if inside:
            lines.append(line)
    if name is not None and not found:
        return None
    return textwrap.dedent("\n".join(lines)).split("\n") if name is not None else lines


def changed_lines(old: list[str], new: list[str]) -> list[int]:
    """1-based numbers of the non-blank lines of ``new`` that ``old`` does not have in place."""
    matcher = difflib.SequenceMatcher(None, [x.rstrip() for x in old], [x.rstrip() for x in new], autojunk=False)
    changed = []
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            changed += [j + 1 for j in range(j1, j2) if new[j].strip()]
    return changed


@functools.cache
def _previous_names(root: Path, chapter: str) -> tuple[Path, dict[str, str]] | None:
    """The previous chapter's package and, for each file of ``chapter``, the file it came from."""
    chapters = chapter_diffs.discover(root)
    names = [c.name for c in chapters]
    if chapter not in names or names.index(chapter) == 0:
        return None
    previous = chapter_diffs.predecessor(chapters, names.index(chapter))
    current = chapters[names.index(chapter)]
    origins = {}
    for change in chapter_diffs.compare(previous, current):
        if change.kind in ("changed", "renamed") and change.new and change.old:
            origins[change.new] = change.old
    unchanged = set(chapter_diffs.package_files(current.path)) & set(chapter_diffs.package_files(previous.path))
    origins.update({name: name for name in unchanged if name not in origins})
    return previous.path, origins


def highlight(root: Path, page: str, target: str) -> list[int] | None:
    """The lines to highlight for one include on a page (None: this include gets no highlighting)."""
    page_match, file_match = CHAPTER_PAGE.match(page), CHAPTER_FILE.match(target.split(":", 1)[0])
    if not page_match or not file_match or page_match["name"] != file_match["name"]:
        return None
    path, _, section = target.partition(":")
    found = _previous_names(root, file_match["name"])
    if found is None:
        return None
    new = section_lines((root / path).read_text(encoding="utf-8"), section or None)
    if new is None:
        return None
    previous, origins = found
    if file_match["rest"] in origins:
        old_text = (previous / origins[file_match["rest"]]).read_text(encoding="utf-8")
        old = section_lines(old_text, section or None) or section_lines(old_text, None) or []
    elif section:
        suffix = Path(file_match["rest"]).suffix
        same_name = [
            found_section
            for candidate in sorted(previous.rglob(f"*{suffix}"))
            if "__pycache__" not in candidate.parts
            and (found_section := section_lines(candidate.read_text(encoding="utf-8"), section)) is not None
        ]
        if len(same_name) != 1:
            return None
        old = same_name[0]
    else:
        return None
    changed = changed_lines(old, new)
    if len(changed) == sum(1 for line in new if line.strip()):
        return None
    return changed


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    for number in sorted(set(numbers)):
        if parts and parts[-1].split("-")[-1] == str(number - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{number}"
        else:
            parts.append(str(number))
    return " ".join(parts)


def annotate(markdown: str, page: str, root: Path = ROOT) -> str:
    """The page with ``hl_lines`` added to every fence whose included lines changed since the previous chapter."""
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        closing = re.compile(rf"^[ \t]*{re.escape(match['fence'][0])}{{{len(match['fence'])},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        body = lines[i + 1 : j]
        numbers: list[int] = []
        offset = 0
        every_line_an_include = bool(body)
        for line in body:
            include = INCLUDE.match(line)
            if not include:
                every_line_an_include = every_line_an_include and not line.strip()
                continue
            target = include["target"]
            path, _, section = target.partition(":")
            source = root / path
            text = source.read_text(encoding="utf-8") if source.is_file() else ""
            shown = section_lines(text, section or None)
            for number in highlight(root, page, target) or []:
                numbers.append(offset + number)
            offset += len(shown or [])
        opening = lines[i]
        if numbers and every_line_an_include and "hl_lines" not in match["info"]:
            opening = f'{opening.rstrip()} hl_lines="{_ranges(numbers)}"'
        out += [opening, *body]
        if j < len(lines):
            out.append(lines[j])
        i = j + 1
    return "\n".join(out)
