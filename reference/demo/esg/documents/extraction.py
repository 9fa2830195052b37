"""A PDF's text, extracted in a child process that a hostile file cannot keep alive or make huge.

Text extraction is the one thing the demo does whose cost the client controls almost freely: a
23 KB PDF of twenty pages whose content streams inflate to 600 KB of path operators kept pypdf
busy for 43 s. It therefore never runs in a request, and never in a worker thread itself:
``pdf_text(path, limits)`` runs ``pdf_child.py`` in a fresh interpreter, which sets its own CPU,
address-space and file-size limits before it opens the PDF, and kills it when the wall-clock
``timeout`` passes. The worker thread only waits on the child (no GIL held), so even the worst
file costs one site worker for at most ``timeout`` seconds.

``pdf_text`` returns the cleaned text or raises ``ExtractionFailed`` whose ``reason`` is written
for the user who uploaded the file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .pdf_child import OUT_OF_MEMORY, REFUSED, clean_text

__all__ = ["ExtractionFailed", "Limits", "limits_from_settings", "pdf_text"]

CHILD = Path(__file__).with_name("pdf_child.py")
REASON_BYTES = 300


class ExtractionFailed(Exception):
    """The PDF gave no text; ``reason`` says why, for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    """What one extraction may use. The defaults are the settings' defaults (``DOCUMENTS_EXTRACT_*``)."""

    cpu_seconds: int = 10
    memory_bytes: int = 512 * 1024 * 1024
    timeout: float = 30.0  # wall clock; a child still running then is killed
    max_pages: int = 500
    max_chars: int = 2_000_000

    @property
    def output_bytes(self) -> int:
        return 4 * self.max_chars + 1024  # UTF-8 takes at most 4 bytes a character


def limits_from_settings() -> Limits:
    return Limits(
        cpu_seconds=int(getattr(settings, "DOCUMENTS_EXTRACT_CPU_SECONDS", 10)),
        memory_bytes=int(getattr(settings, "DOCUMENTS_EXTRACT_MEMORY_MB", 512)) * 1024 * 1024,
        timeout=float(getattr(settings, "DOCUMENTS_EXTRACT_TIMEOUT", 30.0)),
    )


def pdf_text(path: str | Path, limits: Limits = Limits()) -> str:
    """The text of the PDF at ``path``, cleaned; ``ExtractionFailed`` if it has none or breaks a limit."""
    with tempfile.TemporaryDirectory(prefix="pdf-text-") as folder:
        out, err = Path(folder) / "text", Path(folder) / "stderr"
        argv = [
            sys.executable,
            "-I",  # isolated: no PYTHON* variables, no user site, not the demo's folder on sys.path
            str(CHILD),
            str(path),
            str(out),
            *(str(n) for n in (limits.cpu_seconds, limits.memory_bytes, limits.output_bytes)),
            *(str(n) for n in (limits.max_pages, limits.max_chars)),
        ]
        with err.open("wb") as stderr:
            try:
                done = subprocess.run(
                    argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, timeout=limits.timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:  # run() has killed the child and reaped it
                raise ExtractionFailed(
                    f"reading the PDF's text took longer than {limits.timeout:g} s, so it was stopped"
                ) from None
        code = done.returncode
        if code == 0:
            with out.open("rb") as text:
                return clean_text(text.read(limits.output_bytes).decode("utf-8", "replace"))
        raise ExtractionFailed(_reason(code, err, limits))


def _reason(code: int, err: Path, limits: Limits) -> str:
    if code == REFUSED:
        with err.open("rb") as stderr:
            said = stderr.read(REASON_BYTES).decode("utf-8", "replace").strip().splitlines()
        return said[0] if said else "the PDF could not be read"
    if code == OUT_OF_MEMORY:
        return f"reading the PDF's text needed more than {limits.memory_bytes // (1024 * 1024)} MB of memory"
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"reading the PDF's text took more than {limits.cpu_seconds} s of processor time, so it was stopped"
    if code == -signal.SIGXFSZ:
        return "the PDF's text is larger than the limit"
    return f"the PDF could not be read (the reader ended with status {code})"
