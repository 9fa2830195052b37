"""Every page of the built site, opened in chromium with no network but the site itself.

The site is built (``mkdocs build --strict``) into a temporary directory and served from
127.0.0.1; one headless Debian chromium opens every page in turn, and every request to any
other origin is refused and recorded. A page fails on:

* any request to another origin (a web font, a script from a CDN, an image);
* a mermaid diagram left as text: every diagram must become an SVG that has a size;
* a code block wider than its box (``scrollWidth > clientWidth``) at a laptop's width, with
  every ``<details>`` opened and every tab shown, so no hidden block escapes;
* a search that does not answer: ``register_at_fork`` typed into the search box must list
  results, the first of them a chapter or a guide, not a generated diff page;
* an uncaught JavaScript error.

All problems of all pages are collected and reported together, page by page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route

from tests.docs import site

pytestmark = pytest.mark.slow

LAPTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000  # a deadlock detector for each wait in a page (a healthy page needs < 1 s)
SEARCH_QUERY = "register_at_fork"

# Chromium never forgets a closed shadow root's contents, but scripts cannot read them;
# Material renders each diagram into a closed one. Opening them changes nothing on screen.
OPEN_SHADOW_ROOTS = """
const attachShadow = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attachShadow.call(this, Object.assign({}, init, {mode: "open"}));
};
"""

# Every diagram: rendered (an SVG with a size, no error) or still raw text.
DIAGRAMS = """() => {
  const raw = [...document.querySelectorAll("pre.mermaid, code.mermaid")]
    .map((el) => "raw text: " + el.textContent.trim().split("\\n")[0]);
  const drawn = [...document.querySelectorAll("div.mermaid")].map((el) => {
    const svg = el.shadowRoot && el.shadowRoot.querySelector("svg");
    if (!svg) return "no svg: " + el.textContent.trim().split("\\n")[0];
    if (svg.getAttribute("aria-roledescription") === "error") return "mermaid error: " + svg.textContent.trim();
    const box = svg.getBoundingClientRect();
    return box.width > 0 && box.height > 0 ? null : "an svg of size 0";
  });
  return {count: raw.length + drawn.length, problems: raw.concat(drawn.filter(Boolean))};
}"""

# Every code block, hidden ones shown first, measured.
CODE_BLOCKS = """() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const style = document.createElement("style");
  style.textContent = ".tabbed-set > .tabbed-content > .tabbed-block { display: block !important; }";
  document.head.appendChild(style);
  return [...document.querySelectorAll(".md-content pre:not(.mermaid) > code")].map((code) => {
    const longest = code.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "");
    return {
      scroll: code.scrollWidth, client: code.clientWidth,
      columns: longest.length, line: longest.trim().slice(0, 60),
    };
  });
}"""


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    site_dir = site.build(tmp_path_factory.mktemp("site") / "site")
    with site.serve(site_dir) as base:
        yield base, site.pages(site_dir)


def wait_for_diagrams(page: Page) -> dict[str, Any]:
    with contextlib.suppress(PlaywrightError):  # reported below as diagrams still shown as text
        page.wait_for_function(
            "() => !document.querySelector('pre.mermaid') "
            "&& [...document.querySelectorAll('div.mermaid')].every((el) => el.shadowRoot)",
            timeout=TIMEOUT_MS,
        )
    result: dict[str, Any] = page.evaluate(DIAGRAMS)
    return result


def search(page: Page, query: str) -> tuple[str, list[str]]:
    """What the site's search says for ``query``: its status line and the result links it lists."""
    box = page.locator("input.md-search__input")
    box.click()
    meta = page.locator(".md-search-result__meta")
    try:  # Material says "Initializing search" until its worker has loaded the index
        page.wait_for_function(
            "() => { const m = document.querySelector('.md-search-result__meta');"
            " return m && m.textContent.trim() && !/initializing/i.test(m.textContent); }",
            timeout=TIMEOUT_MS,
        )
    except PlaywrightError:
        return meta.inner_text().strip() or "(no status)", []
    box.press_sequentially(query)
    try:
        page.wait_for_selector(".md-search-result__item", timeout=TIMEOUT_MS)
    except PlaywrightError:
        return meta.inner_text().strip(), []
    hrefs: list[str] = page.eval_on_selector_all(
        ".md-search-result__item > a", "(links) => links.map((a) => a.getAttribute('href'))"
    )
    return meta.inner_text().strip(), hrefs


@pytest.mark.timeout(900)  # about 45 pages at 1-2 s each, and a build; more only when pages time out
def test_every_page_works_offline_draws_its_diagrams_fits_its_code_and_searches(
    served_site: tuple[str, list[str]],
) -> None:
    base, paths = served_site
    assert len(paths) >= 40, f"only {len(paths)} pages built: the site is not all there"
    problems: dict[str, list[str]] = {}
    diagrams = code_blocks = searched = highlighted = 0
    with site.browser() as browser:
        context = browser.new_context(viewport=LAPTOP)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(OPEN_SHADOW_ROOTS)
        foreign: list[str] = []

        def only_the_site(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_site)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        for path in paths:
            foreign.clear()
            errors.clear()
            found: list[str] = []
            page.goto(base + path, wait_until="load")
            drawn = wait_for_diagrams(page)
            diagrams += drawn["count"]
            found += [f"diagram: {p}" for p in drawn["problems"]]
            status, results = search(page, SEARCH_QUERY)
            searched += 1
            if not results:
                found.append(f"search: no result for {SEARCH_QUERY!r}; the search box says {status!r}")
            elif "chapters/diffs/" in results[0]:
                found.append(f"search: the first result for {SEARCH_QUERY!r} is a diff page: {results[0]}")
            page.keyboard.press("Escape")
            highlighted += page.locator(".md-content .hll").count()
            blocks = page.evaluate(CODE_BLOCKS)
            code_blocks += len(blocks)
            wide = [
                f"code block {b['scroll'] - b['client']} px wider than its {b['client']} px box"
                f" ({b['columns']} columns): {b['line']!r}"
                for b in blocks
                if b["client"] and b["scroll"] > b["client"]
            ]
            found += wide
            found += [f"hidden code block (not measured): {b['line']!r}" for b in blocks if not b["client"]]
            found += [f"request to another origin: {url}" for url in sorted(set(foreign))]
            found += [f"JavaScript error: {error}" for error in errors]
            if found:
                problems[path or "(home)"] = found
        context.close()
    assert diagrams >= 10 and code_blocks >= 200 and searched == len(paths), (
        f"only {diagrams} diagrams, {code_blocks} code blocks and {searched} searches seen:"
        " the checks looked at too little"
    )
    assert highlighted >= 10, f"only {highlighted} highlighted lines on the whole site: the chapters' hl_lines are gone"
    report = "\n".join(f"{path}:\n  " + "\n  ".join(found) for path, found in problems.items())
    assert not problems, f"{len(problems)} of {len(paths)} pages have problems:\n{report}"


def test_a_page_that_loads_from_another_origin_and_a_broken_diagram_are_caught(
    tmp_path: Path,
) -> None:
    """The checks above can fail: a made-up page with a CDN script, a raw diagram and a wide block."""
    (tmp_path / "index.html").write_text(
        "<html><head><script src='https://unpkg.com/nothing.js'></script></head><body>"
        "<div class='md-content'><pre class='mermaid'><code>flowchart LR\n a --> b</code></pre>"
        "<pre><code style='display:block;width:100px;overflow:auto'>" + "x" * 400 + "</code></pre>"
        "</div></body></html>",
        encoding="utf-8",
    )
    with site.serve(tmp_path) as base, site.browser() as browser:
        context = browser.new_context(viewport=LAPTOP)
        foreign: list[str] = []
        context.route(
            "**/*",
            lambda route: route.continue_()
            if route.request.url.startswith(base)
            else (foreign.append(route.request.url), route.abort())[-1],
        )
        page = context.new_page()
        page.goto(base, wait_until="load")
        drawn = page.evaluate(DIAGRAMS)
        blocks = page.evaluate(CODE_BLOCKS)
        context.close()
    assert foreign == ["https://unpkg.com/nothing.js"]
    assert drawn["problems"] == ["raw text: flowchart LR"]
    assert [b["scroll"] > b["client"] for b in blocks] == [True]


PHONE = {"width": 390, "height": 844}


@pytest.mark.timeout(600)
def test_no_page_scrolls_sideways_on_a_phone(served_site: tuple[str, list[str]]) -> None:
    """At a phone's width only code blocks and diagrams scroll sideways, inside their own boxes."""
    base, paths = served_site
    wide: list[str] = []
    with site.browser() as browser:
        context = browser.new_context(viewport=PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
        page = context.new_page()
        for path in paths:
            page.goto(base + path, wait_until="load")
            wait_for_diagrams(page)
            scroll, client = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if scroll > client:
                wide.append(f"{path or '(home)'}: the page is {scroll} px wide in a {client} px screen")
        context.close()
    assert not wide, "\n".join(wide)
