"""The child process that reads a PDF's text: bounded by the kernel before it reads a byte of the PDF.

Run only by ``esg.documents.extraction`` as ``python -I pdf_child.py <pdf> <out> <cpu_s> <memory_bytes>
<output_bytes> <max_pages> <max_chars>``; it imports nothing from the demo or Django. Its first act is to
set its own resource limits: ``RLIMIT_CPU`` (the kernel sends SIGXCPU, then SIGKILL), ``RLIMIT_AS``
(an allocation past it is a ``MemoryError``), ``RLIMIT_FSIZE`` (the text file cannot grow past it)
and no core file. Only then does it import pypdf and open the PDF. The parent adds the one bound a
process cannot set on itself: a wall-clock timeout, after which it kills this process.

Exit status: 0 with the text in ``<out>`` (UTF-8, NULs removed, lone surrogates replaced by U+FFFD);
``REFUSED`` with one line for the user on stderr (encrypted, no text layer, unreadable);
``OUT_OF_MEMORY``; anything else (a signal) is read by the parent.
"""

from __future__ import annotations

import logging
import resource
import sys
import warnings

REFUSED = 2
OUT_OF_MEMORY = 3


def clean_text(text: str) -> str:
    """``text`` without NULs and with every lone surrogate replaced by U+FFFD (pairs are joined).

    pypdf decodes a font's ToUnicode map as UTF-16 and can hand back half a pair; neither a lone
    surrogate nor a NUL can be stored in PostgreSQL's text or written as UTF-8.
    """
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def main(argv: list[str]) -> int:
    pdf_path, out_path = argv[0], argv[1]
    cpu_seconds, memory_bytes, output_bytes, max_pages, max_chars = (int(a) for a in argv[2:7])
    # Soft CPU limit first (SIGXCPU ends the process), hard one a second later (SIGKILL) in case
    # the soft signal were ever handled.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    _limit(resource.RLIMIT_AS, memory_bytes)
    _limit(resource.RLIMIT_FSIZE, output_bytes)
    _limit(resource.RLIMIT_CORE, 0)
    try:
        return _extract(pdf_path, out_path, max_pages, max_chars)
    except MemoryError:
        return OUT_OF_MEMORY


def _extract(pdf_path: str, out_path: str, max_pages: int, max_chars: int) -> int:
    # stderr is for the one line the user will read: pypdf's own warnings about a broken file
    # ("EOF marker not found") would come first and say nothing to them.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    import pypdf

    try:
        reader = pypdf.PdfReader(pdf_path)
        if reader.is_encrypted:
            print("encrypted PDFs are not accepted", file=sys.stderr)
            return REFUSED
        parts: list[str] = []
        length = 0
        for page in reader.pages[:max_pages]:
            part = page.extract_text() or ""
            parts.append(part)
            length += len(part)
            if length > max_chars:
                break
    except MemoryError:
        raise
    except Exception as exc:
        # pypdf raises more than its own PyPdfError on malformed input (ValueError, KeyError,
        # zlib.error, RecursionError...): for a file from a client, any of them means "unreadable".
        print(f"the PDF could not be read ({type(exc).__name__})", file=sys.stderr)
        return REFUSED
    text = clean_text("\n".join(parts)[:max_chars])
    if not text.strip():
        print("the PDF has no text layer (a scan?): there is nothing to search", file=sys.stderr)
        return REFUSED
    with open(out_path, "w", encoding="utf-8") as out:
        out.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
