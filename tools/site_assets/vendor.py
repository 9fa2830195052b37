"""Copy what the book's site serves itself into ``docs/assets/vendor/``: mermaid and the theme's fonts.

The site must work offline and under a strict content policy, so nothing on a page may come
from another origin: Material's default Google Fonts link is off (``theme.font: false``) and
its mermaid loader, which fetches from unpkg when no ``mermaid`` global exists, finds ours.
The files come from the npm packages pinned in ``package.json`` and ``package-lock.json`` of
this folder; ``make site-assets`` installs them (``npm ci``) and runs this script. The copies
are build output: ``docs/assets/vendor/`` is ignored by git.

Usage::

    python -m tools.site_assets.vendor           # copy (after npm ci in tools/site_assets)
    python -m tools.site_assets.vendor --check   # exit 1 naming what is missing or out of date
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULES = HERE / "node_modules"
VENDOR = ROOT / "docs/assets/vendor"

# The weights and styles Material asks Google Fonts for (Roboto 300/400/700, Roboto Mono 400/700,
# each upright and italic), latin subset; other characters fall back to the system font.
FONTS = [
    f"@fontsource/{family}/files/{family}-latin-{weight}-{style}.woff2"
    for family, weights in (("roboto", (300, 400, 700)), ("roboto-mono", (400, 700)))
    for weight in weights
    for style in ("normal", "italic")
]
# source in node_modules -> destination under docs/assets/vendor
FILES = {
    "mermaid/dist/mermaid.min.js": "mermaid.min.js",
    "mermaid/LICENSE": "mermaid.LICENSE.txt",
    "@fontsource/roboto/LICENSE": "fonts/roboto.LICENSE.txt",
    "@fontsource/roboto-mono/LICENSE": "fonts/roboto-mono.LICENSE.txt",
    **{font: f"fonts/{Path(font).name}" for font in FONTS},
}


def stale() -> list[str]:
    """What is missing from ``docs/assets/vendor/`` or differs from the installed packages."""
    problems = []
    for source, target in FILES.items():
        src, dst = MODULES / source, VENDOR / target
        if not src.is_file():
            problems.append(f"{source}: not installed (run `make site-assets`)")
        elif not dst.is_file() or dst.read_bytes() != src.read_bytes():
            problems.append(f"docs/assets/vendor/{target}: missing or out of date")
    return problems


def copy() -> list[str]:
    """Copy every file; return the destinations written."""
    missing = [source for source in FILES if not (MODULES / source).is_file()]
    if missing:
        raise SystemExit(
            "site assets are not installed: run `npm ci --prefix tools/site_assets` (or `make site-assets`);"
            f" missing {missing[0]}"
        )
    written = []
    for source, target in FILES.items():
        dst = VENDOR / target
        if not dst.is_file() or dst.read_bytes() != (MODULES / source).read_bytes():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(MODULES / source, dst)
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a vendored file is missing or stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale()
        print("\n".join(problems) or "site assets are in place")
        return 1 if problems else 0
    for target in copy():
        print(f"copied docs/assets/vendor/{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
