"""The book's rules about code, as functions: each returns the problems it finds, never raises.

The rules (``/work/shared/DESIGN.md``, "Teaching rules"):

* no hand-typed Python in ``docs/``: a Python fence holds only snippet include
  lines (``--8<-- "path:section"``) or a ``>>>`` session, which is run;
* every include names an existing file and an existing section of it, and that
  file is exercised by the tests (imported, run, or itself a test module);
* every section marked in the code (``# --8<-- [start:name]``) is shown on a page;
* every page is in the nav, and the nav names no missing page.

Each function takes the repository root (or a text) so the tests can run it on
a small made-up tree and show that it reports what it should.
"""

from __future__ import annotations

import ast
import doctest
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PYTHON_LANGUAGES = {"python", "py", "python3", "py3", "pycon", "pyi"}
# An opening fence: indentation, three or more backticks or tildes, then the info string.
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
# A one-line include as pymdownx.snippets reads it (";" in front escapes it).
INCLUDE = re.compile(r"""^[ \t]*(?P<escape>;*)-{1,}8<-{1,}[ \t]+(?P<quote>["'])(?P<target>.+?)(?P=quote)[ \t]*$""")
# The block form ("--8<--" alone on a line, file names below, "--8<--" again).
BLOCK_INCLUDE = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")
# A section marker inside an included file, as pymdownx.snippets reads it.
SECTION = re.compile(r"-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<kind>start|end)[ \t]*:[ \t]*(?P<name>[a-z][-_0-9a-z]*)[ \t]*\]")
REFERENCE_CORE = "reference/dualqueue/"
CHAPTER_FILE = re.compile(r"^chapters/ch(?P<number>\d\d)_[a-z0-9_]+/(?P<rest>.+)$")
SKIPPED_DIRS = {".git", ".venv", ".site", "node_modules", "__pycache__", ".hypothesis", ".pytest_cache"}
# Where Python finds the repository's modules (pyproject: pythonpath ". reference/demo";
# the core installs from reference/). Most specific first.
IMPORT_ROOTS = ("reference/demo", "reference", ".")
DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


@dataclass(frozen=True)
class Fence:
    language: str
    line: int  # 1-based line of the opening fence
    body: list[str]


@dataclass(frozen=True)
class Include:
    page: str
    line: int
    target: str  # as written: "path/to/file.py:section"

    @property
    def path(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def section(self) -> str | None:
        parts = self.target.split(":", 1)
        return parts[1] if len(parts) == 2 else None


# -- reading pages ------------------------------------------------------------------


def fences(text: str) -> list[Fence]:
    """The fenced code blocks of a Markdown text, at any indentation (admonitions, tabs)."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        marker = match["fence"]
        info = match["info"].strip()
        language = info.split()[0].lstrip("{.").rstrip("}") if info else ""
        closing = re.compile(rf"^[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
        body = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j])
            j += 1
        found.append(Fence(language.lower(), i + 1, body))
        i = j + 1
    return found


def _is_session(body: list[str]) -> bool:
    first = next((line.strip() for line in body if line.strip()), "")
    return first.startswith(">>>")


def _looks_like_python(body: list[str]) -> bool:
    # An unlabelled fence that parses as Python and defines, imports or assigns something.
    try:
        tree = ast.parse("\n".join(_dedent(body)))
    except (SyntaxError, ValueError):
        return False
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign)
    return any(isinstance(node, kinds) for node in ast.walk(tree))


def bare_python(text: str) -> list[str]:
    """Python fences holding anything but include lines or a ``>>>`` session."""
    problems = []
    for fence in fences(text):
        code = [line for line in fence.body if line.strip()]
        if fence.language in PYTHON_LANGUAGES:
            if not code:
                problems.append(f"line {fence.line}: an empty {fence.language} fence")
            elif _is_session(code):
                continue
            elif not all(INCLUDE.match(line) and not INCLUDE.match(line)["escape"] for line in code):
                problems.append(f"line {fence.line}: a {fence.language} fence with hand-typed code")
        elif fence.language in {"", "text", "txt", "plain"} and _looks_like_python(code):
            problems.append(f"line {fence.line}: an unlabelled fence that holds Python")
    return problems


def includes(text: str, page: str = "<text>") -> tuple[list[Include], list[str]]:
    """The one-line includes of a page, and the problems with the include lines themselves."""
    found, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        match = INCLUDE.match(line)
        if match and not match["escape"]:
            found.append(Include(page, number, match["target"]))
        elif BLOCK_INCLUDE.match(line):
            problems.append(f"{page}:{number}: the block form of --8<--; use one line per include")
    return found, problems


def doctest_sessions(text: str) -> list[Fence]:
    """The fences of a page that hold a ``>>>`` session."""
    return [fence for fence in fences(text) if fence.language in PYTHON_LANGUAGES and _is_session(fence.body)]


def run_sessions(text: str, name: str) -> tuple[int, int, str]:
    """Run a page's ``>>>`` sessions in order, sharing one namespace: (attempted, failed, report)."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    globs: dict[str, Any] = {"__name__": name}
    report: list[str] = []
    for fence in doctest_sessions(text):
        source = "\n".join(_dedent(fence.body)) + "\n"
        test = parser.get_doctest(source, globs, f"{name}:{fence.line}", name, fence.line)
        runner.run(test, out=report.append, clear_globs=False)
        globs = test.globs  # the DocTest worked on a copy: the next session goes on from here
    return runner.tries, runner.failures, "".join(report)


def _dedent(lines: list[str]) -> list[str]:
    margin = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return [line[margin:] for line in lines]


# -- sections in the code ---------------------------------------------------------


def sections(text: str) -> tuple[set[str], list[str]]:
    """Section names that open and close in a file, and problems (unclosed, unopened, repeated)."""
    opened: dict[str, int] = {}
    complete: set[str] = set()
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        match = SECTION.search(line)
        if not match:
            continue
        name = match["name"]
        if match["kind"] == "start":
            if name in opened or name in complete:
                problems.append(f"line {number}: section {name!r} starts twice")
            opened[name] = number
        elif name in opened:
            del opened[name]
            complete.add(name)
        else:
            problems.append(f"line {number}: section {name!r} ends without a start")
    problems += [f"line {number}: section {name!r} never ends" for name, number in opened.items()]
    return complete, problems


def files_with_sections(root: Path, skip: tuple[str, ...] = ("docs", "tests/docs")) -> dict[str, set[str]]:
    """Every text file in the tree (outside ``skip``) that marks sections, by repo-relative path."""
    marked = {}
    for path in _walk(root):
        relative = path.relative_to(root).as_posix()
        if any(relative == s or relative.startswith(f"{s}/") for s in skip):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if "8<-" in text:
            names, _ = sections(text)
            if names:
                marked[relative] = names
    return marked


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.name in SKIPPED_DIRS:
            continue
        if path.is_dir():
            yield from _walk(path)
        elif path.is_file() and path.stat().st_size < 1_000_000:
            yield path


# -- the rules over a whole tree ---------------------------------------------------


def pages(root: Path) -> dict[str, str]:
    """Every Markdown page under ``docs/`` by path relative to ``docs/``."""
    docs = root / "docs"
    return {p.relative_to(docs).as_posix(): p.read_text(encoding="utf-8") for p in sorted(docs.rglob("*.md"))}


def all_includes(root: Path) -> tuple[list[Include], list[str]]:
    found, problems = [], []
    for name, text in pages(root).items():
        page_includes, page_problems = includes(text, f"docs/{name}")
        found += page_includes
        problems += page_problems
    return found, problems


def unresolved_includes(root: Path) -> list[str]:
    """Includes whose file or section does not exist, or that name no section (or a line range)."""
    found, problems = all_includes(root)
    for include in found:
        where = f"{include.page}:{include.line}"
        path = root / include.path
        if include.section is None:
            problems.append(f"{where}: {include.target!r} includes a whole file; name a section")
            continue
        if re.fullmatch(r"-?\d+(:-?\d+)?", include.section):
            problems.append(f"{where}: {include.target!r} includes a line range; mark a named section instead")
            continue
        if not path.is_file():
            problems.append(f"{where}: {include.path} does not exist")
            continue
        names, section_problems = sections(path.read_text(encoding="utf-8"))
        problems += [f"{include.path} {problem}" for problem in section_problems]
        if include.section not in names:
            problems.append(f"{where}: {include.path} has no section {include.section!r} (it has {sorted(names)})")
    return problems


def unused_sections(root: Path) -> list[str]:
    """Sections marked in the code that no page shows.

    A chapter package is a snapshot copied forward from the chapter before, and
    the copy keeps its markers: a section counts as shown if the same section of
    the same file in an earlier chapter is shown (the diff page shows what changed).
    The reference core is where the chapters end (chapter 9 holds byte-identical
    copies of it): a section of ``reference/dualqueue/<file>`` counts as shown if
    a chapter's copy of ``<file>`` shows it.
    """
    found, _ = all_includes(root)
    shown = {(include.path, include.section) for include in found}
    shown_in_chapters = set()
    for path, section in shown:
        match = CHAPTER_FILE.match(path)
        if match:
            shown_in_chapters.add((int(match["number"]), match["rest"], section))
    problems = []
    for path, names in sorted(files_with_sections(root).items()):
        chapter = CHAPTER_FILE.match(path)
        for name in sorted(names):
            if (path, name) in shown:
                continue
            if chapter and any(
                number < int(chapter["number"]) and rest == chapter["rest"] and section == name
                for number, rest, section in shown_in_chapters
            ):
                continue
            if path.startswith(REFERENCE_CORE) and any(
                rest == path.removeprefix(REFERENCE_CORE) and section == name
                for _, rest, section in shown_in_chapters
            ):
                continue
            problems.append(f"{path}: section {name!r} is shown on no page")
    return problems


# -- which files the tests exercise ---------------------------------------------------


def module_name(root: Path, path: Path) -> str | None:
    """The dotted name Python imports ``path`` by, or None if it is not an importable module."""
    if path.suffix != ".py":
        return None
    for base in IMPORT_ROOTS:
        base_path = (root / base).resolve()
        try:
            relative = path.resolve().relative_to(base_path)
        except ValueError:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        # Every folder on the way must be a package, or Python would not find it by this name.
        folder = base_path
        for part in relative.parts[:-1]:
            folder = folder / part
            if not (folder / "__init__.py").exists():
                break
        else:
            if parts and all(part.isidentifier() for part in parts):
                return ".".join(parts)
    return None


def module_path(root: Path, name: str) -> Path | None:
    """The file ``import name`` loads from the repository, or None (stdlib, third party, missing)."""
    parts = name.split(".")
    for base in IMPORT_ROOTS:
        candidate = root / base / Path(*parts)
        for path in (candidate.with_suffix(".py"), candidate / "__init__.py"):
            if path.is_file() and module_name(root, path) == name:
                return path
    return None


def _imports(tree: ast.AST, package: str) -> tuple[set[str], set[str]]:
    """Absolute module names a module imports, and its string constants that look like module names."""
    names: set[str] = set()
    strings: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.fullmatch(node.value):
            # Only a string that is nothing but a dotted name: prose that mentions a module does not count.
            strings.add(node.value)
    return names, strings


def exercised_files(root: Path, tests: str = "tests", skip: tuple[str, ...] = ("tests/docs",)) -> set[Path]:
    """Every repository file the test suite imports, runs by module name, or collects.

    Starts from the test modules and ``conftest.py`` files under ``tests`` (except
    ``skip``: these checks must not count themselves) and follows import
    statements through the repository, packages' ``__init__`` included. A
    dotted name in a string (``[sys.executable, "-m", "tests.core.dpor_stats"]``,
    ``importlib.import_module("chapters.ch02_one_worker.demo")``) counts too.
    """
    test_root = root / tests
    start = [
        p for p in sorted(test_root.rglob("*.py"))
        if (p.name.startswith("test_") or p.name == "conftest.py")
        and not any(p.relative_to(root).as_posix().startswith(f"{s}/") for s in skip)
    ]
    seen: set[Path] = set()
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        name = module_name(root, path) or path.stem
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue
        imported, strings = _imports(tree, package)
        for module in imported | strings:
            parts = module.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
                target = module_path(root, ".".join(parts[:i]))
                if target is not None and target not in seen:
                    todo.append(target)
    return seen


def _named_in_tests(root: Path, relative: str, tests: str, skip: tuple[str, ...]) -> bool:
    # A file that is not a module (a template, a config) counts if a test names it.
    for path in sorted((root / tests).rglob("*.py")):
        if any(path.relative_to(root).as_posix().startswith(f"{s}/") for s in skip):
            continue
        text = path.read_text(encoding="utf-8")
        if relative in text or f'"{Path(relative).name}"' in text or f"'{Path(relative).name}'" in text:
            return True
    return False


EXERCISE_FILE = re.compile(r"^exercises/(?P<id>ex\d\d_[a-z0-9_]+)/")


def _run_by_exercise_checker(root: Path, relative: str, reached: set[Path]) -> bool:
    # Exercise folders are not imported by name: exercises.checker runs each one's tests
    # (in a pytest process of its own) against its starter and its solution, loaded by path.
    # A file in an exercise folder counts if the exercise is in the manifest and a test
    # drives the checker.
    match = EXERCISE_FILE.match(relative)
    checker = module_path(root, "exercises.checker")
    manifest = root / "exercises/manifest.toml"
    if not match or checker is None or checker.resolve() not in reached or not manifest.is_file():
        return False
    with manifest.open("rb") as file:
        listed = {entry.get("id") for entry in tomllib.load(file).get("exercise", [])}
    return match["id"] in listed


DEMO_OUTPUT = re.compile(r"^docs/chapters/output/(?P<chapter>ch\d\d_[a-z0-9_]+)\.txt$")


def _checked_demo_output(root: Path, relative: str, tests: str) -> bool:
    # A demo's captured output (tools/demo_output.py) counts if its chapter has a demo and a
    # test module runs the tool's check (tests/docs/test_demo_output.py does, chapter by chapter).
    match = DEMO_OUTPUT.match(relative)
    if not match or not (root / "chapters" / match["chapter"] / "demo.py").is_file():
        return False
    return any(
        "demo_output.check" in path.read_text(encoding="utf-8") for path in sorted((root / tests).rglob("test_*.py"))
    )


def _rendered_diagram(root: Path, relative: str, tests: str) -> bool:
    # A mermaid source under docs/ is drawn by the browser test, which fails on any diagram
    # that does not become an SVG: it counts when that test exists and checks diagrams.
    test = root / tests / "docs" / "test_site_in_browser.py"
    return (
        relative.startswith("docs/")
        and relative.endswith(".mmd")
        and test.is_file()
        and "div.mermaid" in test.read_text(encoding="utf-8")
    )


def unexercised_includes(root: Path, tests: str = "tests", skip: tuple[str, ...] = ("tests/docs",)) -> list[str]:
    """Included files that no test imports, runs or names."""
    found, _ = all_includes(root)
    reached = {path.resolve() for path in exercised_files(root, tests, skip)}
    problems = []
    for relative in sorted({include.path for include in found}):
        path = root / relative
        if not path.is_file():
            continue  # reported by unresolved_includes
        if (
            _run_by_exercise_checker(root, relative, reached)
            or _checked_demo_output(root, relative, tests)
            or _rendered_diagram(root, relative, tests)
        ):
            continue
        if path.suffix == ".py":
            if path.resolve() not in reached:
                name = module_name(root, path)
                what = f"module {name}" if name else "not an importable module"
                problems.append(f"{relative} ({what}) is included in the docs but no test imports or runs it")
        elif not _named_in_tests(root, relative, tests, skip):
            problems.append(f"{relative} is included in the docs but no test names it")
    return problems


# -- the nav ----------------------------------------------------------------------


class _MkdocsLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without importing anything its ``!!python/name`` tags point at."""


_MkdocsLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: suffix)
_MkdocsLoader.add_multi_constructor("!", lambda loader, suffix, node: suffix)


def nav_pages(config_text: str) -> list[str]:
    """The page paths the nav names (external links left out)."""
    config = yaml.load(config_text, Loader=_MkdocsLoader)  # a SafeLoader subclass: imports nothing

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, str):
            if not re.match(r"^[a-z]+://", node):
                yield node
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value)

    return list(walk(config.get("nav") or []))


def nav_problems(root: Path) -> list[str]:
    """Pages missing from the nav, and nav entries with no page."""
    listed = nav_pages((root / "mkdocs.yml").read_text(encoding="utf-8"))
    existing = set(pages(root))
    problems = [f"docs/{page} is not in the nav of mkdocs.yml" for page in sorted(existing - set(listed))]
    problems += [f"the nav names {page}, which is not a page under docs/" for page in listed if page not in existing]
    return problems


def api_problems(root: Path, public: list[str], page: str = "docs/reference/api.md") -> list[str]:
    """Public names that the API page does not render with ``::: dualqueue.<name>``."""
    text = (root / page).read_text(encoding="utf-8")
    rendered = set(re.findall(r"^:::[ \t]+dualqueue\.(\w+)[ \t]*$", text, flags=re.MULTILINE))
    return [f"{page} does not render dualqueue.{name}" for name in public if name not in rendered]


# -- what fits the page -------------------------------------------------------------

PAGE_COLUMNS = 88  # what a code block shows in the theme's 688 px column without scrolling


def section_lines(text: str, name: str) -> list[str]:
    """The lines of section ``name``, dedented as pymdownx.snippets shows them
    (``dedent_subsections``), its own and nested markers left out."""
    inside, lines = False, []
    for line in text.splitlines():
        match = SECTION.search(line)
        if match and match["name"] == name:
            inside = match["kind"] == "start"
            continue
        if inside and not match:
            lines.append(line)
    return _dedent(lines)


def wide_includes(root: Path, columns: int = PAGE_COLUMNS) -> list[str]:
    """Lines included into a code block that are wider than the page: each would
    scroll inside its block (prose included as Markdown wraps, and is not counted)."""
    problems = []
    for name, text in pages(root).items():
        blocks = [range(f.line, f.line + len(f.body) + 1) for f in fences(text)]
        for include in includes(text, f"docs/{name}")[0]:
            path = root / include.path
            in_code = any(include.line in block for block in blocks)
            if not in_code or include.section is None or not path.is_file():
                continue  # prose, or what unresolved_includes reports
            lines = section_lines(path.read_text(encoding="utf-8"), include.section)
            problems += [
                f"{include.page}:{include.line}: {include.target} shows a line of"
                f" {len(line)} columns, wider than the page's {columns}: {line.strip()[:50]!r}"
                for line in lines
                if len(line) > columns
            ]
    return problems
