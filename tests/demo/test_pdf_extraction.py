"""PDF text leaves the request path: stored as "processing", extracted on the site pool in a bounded child.

The child process (``esg.documents.pdf_child``) sets its own CPU, address-space and file-size limits
before it opens the PDF; the parent (``esg.documents.extraction``) kills it at a wall-clock
timeout. Each hostile shape is built here, in the test, and each bound is shown to be the one that
stopped it: the reason recorded on the document names the limit, and the child's processor time,
read from the kernel's accounting of this process's children, stayed within that limit.
"""

from __future__ import annotations

import base64
import os
import resource
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.test import TransactionTestCase, override_settings
from dualqueue.django import registry
from esg.documents import extraction
from esg.documents.models import Document
from esg.documents.pdf_child import clean_text
from hypothesis import given
from hypothesis import strategies as st

from .hostile_pdfs import encrypted_pdf, inflating_pdf, path_operator_pdf, text_pdf
from .support import DEADLOCK, logged_in, make_pdf, make_user, post_json

WALL_DEADLOCK = 120.0  # seconds: a deadlock detector for a child process on a shared machine


@contextmanager
def pdf_file(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.pdf"
        path.write_bytes(data)
        yield path


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def extract(data: bytes, limits: extraction.Limits) -> tuple[str | None, str | None, float]:
    """(text, reason, child CPU seconds) for ``data`` under ``limits``."""
    before = children_cpu_seconds()
    with pdf_file(data) as path:
        try:
            text, reason = extraction.pdf_text(path, limits), None
        except extraction.ExtractionFailed as exc:
            text, reason = None, exc.reason
    return text, reason, children_cpu_seconds() - before


def test_the_43_second_shape_is_stopped_by_the_cpu_limit() -> None:
    data = path_operator_pdf()  # 20 pages, each inflating to 2 MB of path operators
    assert len(data) < 100_000, f"the hostile file should be small on the wire, it is {len(data)} bytes"
    text, reason, cpu = extract(data, extraction.Limits(cpu_seconds=2, timeout=WALL_DEADLOCK))
    assert text is None
    assert reason is not None and "2 s of processor time" in reason, reason
    # The kernel stopped it at the soft limit (SIGXCPU), or at the latest at the hard one a second on.
    assert cpu <= 2 + 1.5, f"the child used {cpu:.2f} s of CPU under a 2 s limit"


def test_a_child_that_outlives_the_wall_clock_timeout_is_killed() -> None:
    # A CPU limit far away and a wall-clock timeout of one second: the timeout is what stops it.
    text, reason, _ = extract(path_operator_pdf(), extraction.Limits(cpu_seconds=600, timeout=1.0))
    assert text is None
    assert reason is not None and "longer than 1 s" in reason, reason
    lingering = [p for p in os.listdir("/proc") if p.isdigit() and _is_our_child(int(p))]
    assert lingering == [], f"extraction children still alive after the timeout: {lingering}"


def _is_our_child(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]) == os.getpid() and b"pdf_child.py" in cmdline and fields[0] not in {"Z", "X"}


def test_a_stream_that_inflates_past_the_memory_limit_is_stopped() -> None:
    data = inflating_pdf(60)  # one content stream: about 60 KB on the wire, 60 MB inflated
    assert len(data) < 200_000
    text, reason, _ = extract(data, extraction.Limits(memory_bytes=160 * 1024 * 1024, timeout=WALL_DEADLOCK))
    assert text is None
    assert reason is not None and "more than 160 MB of memory" in reason, reason


def test_the_text_is_cut_at_max_chars_whatever_the_pdf_holds() -> None:
    text, reason, _ = extract(make_pdf("word " * 200), extraction.Limits(max_chars=50, timeout=WALL_DEADLOCK))
    assert reason is None and text is not None
    assert 0 < len(text) <= 50


@pytest.mark.parametrize(
    ("glyphs", "expected"),
    [
        (["0041", "D800", "0042"], "A\ufffdB"),  # a lone high surrogate
        (["0041", "DFFF"], "A\ufffd"),  # a lone low surrogate
        (["0041", "0000", "0042"], "AB"),  # a NUL
        (["D83D", "DE00"], "\U0001f600"),  # a pair, split by the font's map: joined, not replaced
    ],
)
def test_surrogates_and_nuls_in_extracted_text_are_cleaned(glyphs: list[str], expected: str) -> None:
    text, reason, _ = extract(text_pdf(glyphs), extraction.Limits(timeout=WALL_DEADLOCK))
    assert reason is None, reason
    assert text is not None and text.strip() == expected


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=40))
def test_clean_text_always_gives_storable_text(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # no lone surrogate survives
    assert "\x00" not in cleaned
    assert clean_text(cleaned) == cleaned


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (make_pdf(""), "no text layer"),
        (b"%PDF-1.7\n1 0 obj << /Kids [", "could not be read"),
        (encrypted_pdf(), "encrypted PDFs are not accepted"),
    ],
    ids=["scan", "broken", "encrypted"],
)
def test_pdfs_without_text_fail_with_a_reason(data: bytes, reason: str) -> None:
    text, said, _ = extract(data, extraction.Limits(timeout=WALL_DEADLOCK))
    assert text is None and said is not None and reason in said, said


class UploadTests(TransactionTestCase):
    """Through the API: the request stores and answers at once; the site pool does the reading."""

    def setUp(self) -> None:
        self.ada = make_user("ada")
        self.client = logged_in(self.ada)

    def upload(self, name: str, data: bytes) -> Any:
        body = {"filename": name, "content_base64": base64.b64encode(data).decode()}
        return post_json(self.client, "/documents/api/", body)

    def document(self, pk: int) -> dict[str, Any]:
        [found] = [d for d in self.client.get("/documents/api/").json()["documents"] if d["id"] == pk]
        return found

    @override_settings(DOCUMENTS_EXTRACT_CPU_SECONDS=2, DOCUMENTS_EXTRACT_TIMEOUT=WALL_DEADLOCK)
    def test_a_hostile_pdf_is_answered_at_once_and_fails_in_the_background(self) -> None:
        response = self.upload("report.pdf", path_operator_pdf())
        self.assertEqual(response.status_code, 201, response.content)
        pk = response.json()["id"]
        self.assertEqual(response.json()["status"], "processing")  # answered before any page was read
        self.assertTrue(registry.join(WALL_DEADLOCK))
        document = self.document(pk)
        self.assertEqual(document["status"], "failed")
        self.assertIn("processor time", document["error"])
        self.assertContains(self.client.get("/documents/"), "failed: reading the PDF")
        site = registry.snapshot()["pools"]["site"]
        self.assertEqual((site["succeeded"], site["alive_workers"]), (1, site["workers"]))

    def test_a_pdf_with_a_lone_surrogate_is_stored_clean_and_indexed(self) -> None:
        pk = self.upload("odd.pdf", text_pdf(["0041", "D800", "0000", "0042"])).json()["id"]
        self.assertTrue(registry.join(WALL_DEADLOCK))
        stored = Document.objects.get(pk=pk)
        self.assertEqual(stored.text.strip(), "A\ufffdB")
        from esg.documents import search

        search.index_debouncer().flush()
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(self.document(pk)["status"], "indexed")

    @override_settings(DOCUMENTS_MAX_PROCESSING_PER_USER=1)
    def test_a_user_with_pdfs_still_processing_is_told_to_wait_and_nothing_is_stored(self) -> None:
        Document.objects.create(
            owner=self.ada, title="waiting.pdf", kind="pdf", size=1, sha256="0" * 64, text="", status="processing"
        )
        response = self.upload("second.pdf", make_pdf("more"))
        self.assertEqual(response.status_code, 429, response.content)
        self.assertIn("already have 1 PDFs waiting", response.json()["error"])
        self.assertTrue(int(response["Retry-After"]) > 0)
        self.assertEqual(Document.objects.count(), 1)
        self.assertEqual(self.upload("notes.txt", b"text files are not limited").status_code, 201)
