"""Generate the book's diff pages: what each chapter's package changed from the previous one.

Every chapter is a package, ``chapters/chNN_slug/``, holding the code as it
stands at the end of that chapter. This tool compares each package with the one
before it (for a chapter that holds the core, with the last chapter before it that
held the core: chapter 13 continues chapter 9's core, and chapters 10 to 12, which
use the core without holding a copy, are not its base) and writes:

* ``docs/chapters/diffs/chNN_slug.md`` for every chapter from the second on:
  a table of new, changed, renamed and removed files, then a unified diff per
  file in a ```` ```diff ```` fence;
* ``docs/chapters/diffs/index.md``: every diff page with its counts;
* the "Diffs" block of the nav in ``mkdocs.yml``, between the ``# BEGIN chapter
  diffs`` and ``# END chapter diffs`` lines, so the nav lists every diff page.

The output depends only on the files in the tree (sorted, no timestamps), so
``--check`` can compare what is committed with what would be generated and
exit non-zero naming the stale files. CI runs the same comparison as a test.

Usage::

    python tools/chapter_diffs.py           # regenerate the pages and the nav block
    python tools/chapter_diffs.py --check   # exit 1, listing stale pages, if anything is out of date
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_PACKAGE = re.compile(r"ch(\d\d)_[a-z0-9_]+")
DIFFS_DIR = Path("docs/chapters/diffs")
NAV_BEGIN = "# BEGIN chapter diffs"
NAV_END = "# END chapter diffs"
REGENERATE = "python tools/chapter_diffs.py"
# A file counts as renamed when it is at least this similar to a removed one
# (difflib's ratio): chapter 3's pool.py grew out of chapter 2's worker.py.
RENAME_SIMILARITY = 0.5
# Lines that pymdownx.snippets would treat as an include if they reached a page.
SNIPPET_LINE = re.compile(r"^\s*;*-+8<-+(\s+[\"'].*)?\s*$")
# The page's code column: chapters' code is formatted to 88 columns (their ruff.toml), and
# a diff line adds one character (" ", "+" or "-"). A wider line would scroll in its box.
PAGE_COLUMNS = 88


@dataclass(frozen=True)
class Chapter:
    name: str  # "ch03_pool"
    number: int  # 3
    path: Path  # the package directory

    @property
    def page(self) -> Path:
        return Path("docs/chapters") / f"{self.name}.md"

    @property
    def diff_page(self) -> Path:
        return DIFFS_DIR / f"{self.name}.md"


@dataclass(frozen=True)
class FileChange:
    kind: str  # "new", "changed", "renamed", "removed"
    old: str | None  # path inside the previous package
    new: str | None  # path inside this package
    added: int
    removed: int
    diff: list[str]  # unified diff lines, without trailing newlines; empty for removed files


def discover(root: Path) -> list[Chapter]:
    """The chapter packages under ``root/chapters``, in chapter order."""
    chapters = []
    base = root / "chapters"
    if not base.is_dir():
        return []
    for path in sorted(base.iterdir()):
        match = CHAPTER_PACKAGE.fullmatch(path.name)
        if match and path.is_dir() and (path / "__init__.py").exists():
            chapters.append(Chapter(path.name, int(match.group(1)), path))
    return chapters


CORE_MARKER = "pool.py"  # a chapter package holding this file holds the core


def predecessor(chapters: list[Chapter], index: int) -> Chapter:
    """The chapter ``chapters[index]`` is compared with: the one before it, unless it
    holds the core and the one before does not; then the last earlier chapter that
    holds the core (if there is one)."""
    chapter, previous = chapters[index], chapters[index - 1]
    if (chapter.path / CORE_MARKER).is_file() and not (previous.path / CORE_MARKER).is_file():
        for earlier in reversed(chapters[: index - 1]):
            if (earlier.path / CORE_MARKER).is_file():
                return earlier
    return previous


def chapter_pairs(chapters: list[Chapter]) -> list[tuple[Chapter, Chapter]]:
    """Every chapter from the second on, with the chapter it is compared with."""
    return [(predecessor(chapters, index), chapters[index]) for index in range(1, len(chapters))]


def package_files(package: Path) -> dict[str, list[str]]:
    """Every text file of a package (caches excluded) by relative path, as lines."""
    files = {}
    for path in sorted(package.rglob("*")):
        inside = path.relative_to(package).parts
        if not path.is_file() or path.suffix in {".pyc", ".pyo"}:
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in inside):  # caches
            continue
        relative = path.relative_to(package).as_posix()
        try:
            files[relative] = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            files[relative] = [f"<binary file, {path.stat().st_size} bytes>"]
    return files


def _unified(old_label: str, new_label: str, old: list[str], new: list[str]) -> list[str]:
    return list(difflib.unified_diff(old, new, old_label, new_label, lineterm="", n=3))


def _counts(diff: list[str]) -> tuple[int, int]:
    body = [line for line in diff if not line.startswith(("---", "+++", "@@"))]
    return sum(line.startswith("+") for line in body), sum(line.startswith("-") for line in body)


def compare(previous: Chapter, chapter: Chapter) -> list[FileChange]:
    """What changed from ``previous``'s package to ``chapter``'s, file by file, in a stable order."""
    old_files, new_files = package_files(previous.path), package_files(chapter.path)
    added = sorted(set(new_files) - set(old_files))
    gone = sorted(set(old_files) - set(new_files))

    # Pair each new file with the removed file it most resembles, best pairs first.
    candidates = []
    for new in added:
        for old in gone:
            matcher = difflib.SequenceMatcher(None, old_files[old], new_files[new], autojunk=False)
            if matcher.real_quick_ratio() >= RENAME_SIMILARITY and matcher.ratio() >= RENAME_SIMILARITY:
                candidates.append((-matcher.ratio(), new, old))
    renamed: dict[str, str] = {}
    for _, new, old in sorted(candidates):
        if new not in renamed and old not in renamed.values():
            renamed[new] = old

    changes = []
    for path in sorted(set(old_files) | set(new_files)):
        a, b = f"{previous.name}/{path}", f"{chapter.name}/{path}"
        if path in old_files and path in new_files:
            if old_files[path] != new_files[path]:
                diff = _unified(a, b, old_files[path], new_files[path])
                changes.append(FileChange("changed", path, path, *_counts(diff), diff))
        elif path in new_files and path in renamed:
            old = renamed[path]
            diff = _unified(f"{previous.name}/{old}", b, old_files[old], new_files[path])
            changes.append(FileChange("renamed", old, path, *_counts(diff), diff))
        elif path in new_files:
            diff = _unified("/dev/null", b, [], new_files[path])
            changes.append(FileChange("new", None, path, *_counts(diff), diff))
        elif path not in renamed.values():
            changes.append(FileChange("removed", path, None, 0, len(old_files[path]), []))
    return changes


def page_title(root: Path, chapter: Chapter) -> str:
    """The chapter's title from its page's first heading ("3. A pool"), or one made from its name."""
    page = root / chapter.page
    if page.exists():
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    words = chapter.name.split("_", 1)[1].replace("_", " ")
    return f"{chapter.number}. {words.capitalize()}"


def _link(root: Path, chapter: Chapter, text: str) -> str:
    # Link only to pages that exist: mkdocs --strict fails on a broken link, and a
    # chapter's package may land before its page does.
    return f"[{text}](../{chapter.name}.md)" if (root / chapter.page).exists() else text


def _fence(lines: list[str]) -> str:
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def render_page(root: Path, previous: Chapter, chapter: Chapter, changes: list[FileChange]) -> str:
    title = page_title(root, chapter)
    out = [
        f"# {title}: what changed",
        "",
        f"The package `chapters/{chapter.name}` compared with `chapters/{previous.name}`:"
        f" the code at the end of {_link(root, chapter, title)} against the code at the end of"
        f" {_link(root, previous, page_title(root, previous))}.",
        "",
        f"<!-- Generated by `{REGENERATE}`; do not edit by hand. -->",
        "",
    ]
    if not changes:
        out += ["The two packages are identical.", ""]
        return "\n".join(out)
    out += ["| file | change | lines added | lines removed |", "| --- | --- | ---: | ---: |"]
    for change in changes:
        name = f"`{change.new or change.old}`"
        kind = f"renamed from `{change.old}`" if change.kind == "renamed" else change.kind
        out.append(f"| {name} | {kind} | {change.added} | {change.removed} |")
    out.append("")
    for change in changes:
        if change.kind == "removed":
            continue
        heading = f"`{change.new}`" + (f" (from `{change.old}`)" if change.kind == "renamed" else f" ({change.kind})")
        for line in change.diff:
            if SNIPPET_LINE.match(line):
                where = f"{chapter.name}/{change.new}"
                raise ValueError(f"{where}: a diff line would be read as a snippet include: {line!r}")
            if len(line) > PAGE_COLUMNS + 1 and not line.startswith(("---", "+++")):
                where = f"{chapter.name}/{change.new}"
                raise ValueError(
                    f"{where}: a diff line is {len(line) - 1} columns, wider than the page's"
                    f" {PAGE_COLUMNS}: format the chapter's code to {PAGE_COLUMNS} columns: {line!r}"
                )
        fence = _fence(change.diff)
        out += [f"## {heading}", "", f"{fence}diff", *change.diff, fence, ""]
    removed = [change for change in changes if change.kind == "removed"]
    if removed:
        out += ["## Removed files", ""]
        out += [f"- `{c.old}` ({c.removed} lines), still in `chapters/{previous.name}/`" for c in removed]
        out.append("")
    return "\n".join(out)


def render_index(root: Path, pairs: list[tuple[Chapter, Chapter, list[FileChange]]]) -> str:
    out = [
        "# What each chapter changed",
        "",
        "Each chapter is a package under `chapters/` holding the code as it stands at the end of that"
        " chapter. These pages show, file by file, what a chapter changed in the package before it:"
        " the unified diff a reviewer would read. They are generated from the packages, and a test"
        " fails when one is out of date.",
        "",
        f"<!-- Generated by `{REGENERATE}`; do not edit by hand. -->",
        "",
    ]
    if not pairs:
        out += ["There is only one chapter so far.", ""]
        return "\n".join(out)
    out += [
        "| chapter | from | files new, changed, renamed, removed | lines added | lines removed |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for previous, chapter, changes in pairs:
        kinds = [sum(c.kind == kind for c in changes) for kind in ("new", "changed", "renamed", "removed")]
        added, removed = sum(c.added for c in changes), sum(c.removed for c in changes)
        out.append(
            f"| [{page_title(root, chapter)}]({chapter.name}.md) | `{previous.name}` | {', '.join(map(str, kinds))}"
            f" | {added} | {removed} |"
        )
    out.append("")
    return "\n".join(out)


def nav_block(pairs: list[tuple[Chapter, Chapter, list[FileChange]]], indent: str) -> list[str]:
    lines = [f"{indent}{NAV_BEGIN} (generated by tools/chapter_diffs.py)", f"{indent}- chapters/diffs/index.md"]
    lines += [f"{indent}- {chapter.diff_page.relative_to('docs').as_posix()}" for _, chapter, _ in pairs]
    lines.append(f"{indent}{NAV_END}")
    return lines


def render_mkdocs(text: str, pairs: list[tuple[Chapter, Chapter, list[FileChange]]]) -> str:
    """``mkdocs.yml`` with its diffs nav block regenerated; everything else untouched."""
    lines = text.splitlines()
    begin = [i for i, line in enumerate(lines) if line.strip().startswith(NAV_BEGIN)]
    end = [i for i, line in enumerate(lines) if line.strip().startswith(NAV_END)]
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        raise ValueError(f"mkdocs.yml needs exactly one '{NAV_BEGIN}' line followed by one '{NAV_END}' line")
    indent = lines[begin[0]][: len(lines[begin[0]]) - len(lines[begin[0]].lstrip())]
    new = lines[: begin[0]] + nav_block(pairs, indent) + lines[end[0] + 1 :]
    return "\n".join(new) + ("\n" if text.endswith("\n") else "")


def generate(root: Path = ROOT) -> dict[Path, str]:
    """Every generated file (relative path -> content), ``mkdocs.yml`` included."""
    chapters = discover(root)
    pairs = [(previous, chapter, compare(previous, chapter)) for previous, chapter in chapter_pairs(chapters)]
    files = {chapter.diff_page: render_page(root, previous, chapter, changes) for previous, chapter, changes in pairs}
    files[DIFFS_DIR / "index.md"] = render_index(root, pairs)
    files[Path("mkdocs.yml")] = render_mkdocs((root / "mkdocs.yml").read_text(encoding="utf-8"), pairs)
    return files


def obsolete(root: Path, files: dict[Path, str]) -> list[Path]:
    """Diff pages on disk for chapters that no longer have a predecessor or a package."""
    directory = root / DIFFS_DIR
    if not directory.is_dir():
        return []
    return sorted(
        path.relative_to(root)
        for path in directory.glob("*.md")
        if CHAPTER_PACKAGE.fullmatch(path.stem) and path.relative_to(root) not in files
    )


def stale(root: Path = ROOT) -> list[str]:
    """What is out of date, one line per file; empty when the committed pages are current."""
    files = generate(root)
    problems = []
    for relative, content in sorted(files.items()):
        path = root / relative
        if not path.exists():
            problems.append(f"{relative}: missing")
        elif path.read_text(encoding="utf-8") != content:
            problems.append(f"{relative}: out of date")
    problems += [f"{path}: no such chapter pair any more (delete it)" for path in obsolete(root, files)]
    return problems


def write(root: Path = ROOT) -> list[Path]:
    """Regenerate everything; return the files that changed (written or deleted)."""
    files = generate(root)
    touched = []
    for relative, content in sorted(files.items()):
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            touched.append(relative)
    for relative in obsolete(root, files):
        (root / relative).unlink()
        touched.append(relative)
    return touched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if any generated file is out of date")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository root (default: this checkout)")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.root)
        for problem in problems:
            print(problem)
        if problems:
            print(f"the chapter diff pages are stale: run `{REGENERATE}` and commit the result", file=sys.stderr)
            return 1
        print("chapter diff pages are up to date")
        return 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
