"""Every parser of request input runs in time linear in its input's size (issue 13).

The parsers: the JSON bodies (``esg.jsonapi.parse_json``: the sites API, analysis windows, the
documents API), the GeoJSON validator (``esg.sites.geojson.validate_polygon``), upload sniffing
(``esg.documents.uploads.accept``, and the base64 of the JSON door), the search query
(``esg.documents.search.fts_query``), and each of them through Django's test client. Each known
adversarial shape is fed at size ``n`` and ``8n``, and the growth of the work is checked two
ways (``tests/demo/complexity.py``): the Python lines executed, counted exactly, and the processor
time, as a ratio only. Hypothesis then generates shapes of its own: a prefix, a unit repeated
``n`` times, a suffix.

The check can fail: ``test_the_check_catches_the_quadratic_parser_this_replaced`` runs it on the
regex-based depth check that the outside review found (issue 13, finding 1) and sees it flagged.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from esg.documents.search import fts_query
from esg.documents.uploads import UploadError, accept
from esg.jsonapi import MAX_DEPTH, ApiError, parse_json
from esg.sites.geojson import GeometryError, Limits, validate_polygon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .complexity import LINEAR_BOUND, LINES_BOUND, SCALE, cpu_growth, python_lines
from .support import logged_in, make_user

UNLIMITED = Limits(max_vertices=10**9, max_area_km2=1e12)  # so the validator reads everything it is given


def site_pipeline(body: bytes) -> None:
    """What ``POST /sites/`` does with a body: parse it, then validate its geometry."""
    try:
        value = parse_json(body)
        validate_polygon(value.get("geometry", value) if isinstance(value, dict) else value, UNLIMITED)
    except (ApiError, GeometryError):
        pass


def ring(n: int) -> str:
    positions = ",".join(f"[{i * 1e-7:.7f},{(i % 2) * 1e-7:.7f}]" for i in range(n))
    return f"[{positions},[0.0000000,0.0000000]]"


NESTED = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
POLYGON = b'{"type":"Polygon","coordinates":['

# (name, n -> body, n for the small input). The large input is SCALE * n.
JSON_SHAPES: list[tuple[str, Callable[[int], bytes], int]] = [
    ("unterminated escaped quotes", lambda n: b'"' + b'\\"' * n, 20_000),
    ("escaped quotes in a name", lambda n: b'{"name": "' + b'\\"' * n + b'"}', 20_000),
    ("unicode escapes", lambda n: b'{"name": "' + b"\\u0041" * n + b'"}', 8_000),
    ("lone surrogate escapes", lambda n: b'["' + b"\\ud800" * n + b'"]', 8_000),
    ("deep arrays", lambda n: b"[" * n + b"]" * n, 20_000),
    ("deep arrays, unclosed", lambda n: b"[" * n, 20_000),
    ("deep objects", lambda n: b'{"a":' * n + b"1" + b"}" * n, 8_000),
    ("deep within the limit, many times", lambda n: b"[" + b",".join([NESTED] * n) + b"]", 4_000),
    ("a long integer", lambda n: b"[" + b"9" * n + b"]", 40_000),
    ("a long fraction", lambda n: b"[0." + b"1" * n + b"]", 40_000),
    ("a long exponent", lambda n: b"[1e" + b"1" * n + b"]", 40_000),
    ("many numbers", lambda n: b"[" + b",".join([b"1.5e-3"] * n) + b"]", 5_000),
    ("many keys", lambda n: b"{" + b",".join(b'"k%d":0' % i for i in range(n)) + b"}", 4_000),
    ("many unknown keys", lambda n: b'{"name":"x",' + b",".join(b'"k%d":0' % i for i in range(n)) + b"}", 4_000),
    ("the same key many times", lambda n: b"{" + b",".join([b'"k":0'] * n) + b"}", 5_000),
    ("whitespace", lambda n: b" " * n + b"{}", 40_000),
    ("many tiny coordinates", lambda n: POLYGON + ring(n).encode() + b"]}", 1_500),
    ("many small rings", lambda n: POLYGON + b",".join([ring(4).encode()] * n) + b"]}", 400),
    ("many empty rings", lambda n: POLYGON + b",".join([b"[]"] * n) + b"]}", 8_000),
    ("a long type name", lambda n: b'{"type":"' + b"P" * n + b'","coordinates":[]}', 40_000),
]

UPLOAD_SHAPES: list[tuple[str, Callable[[int], bytes]]] = [
    ("text after a BOM", lambda n: b"\xef\xbb\xbf" + b"carbon " * n),
    ("a NUL at the end", lambda n: b"a" * n + b"\x00"),
    ("bad UTF-8 at the end", lambda n: b"a" * n + b"\xff"),
    ("multi-byte text", lambda n: "€".encode() * n),
    ("blank", lambda n: b" \n" * n),
    ("a PDF header and junk", lambda n: b"%PDF-1.7\n" + b"(" * n),
]


@pytest.mark.parametrize(("name", "shape", "n"), JSON_SHAPES, ids=[s[0] for s in JSON_SHAPES])
def test_python_work_on_json_grows_linearly(name: str, shape: Callable[[int], bytes], n: int) -> None:
    n = max(1, n // 20)  # the line count is exact: small inputs show its growth as well as large ones
    small, large = python_lines(site_pipeline, shape(n)), python_lines(site_pipeline, shape(SCALE * n))
    assert large <= LINES_BOUND * small + 200, f"{name}: {small} lines at n={n}, {large} at {SCALE}n"


@pytest.mark.parametrize(("name", "shape", "n"), JSON_SHAPES, ids=[s[0] for s in JSON_SHAPES])
def test_cpu_time_on_json_grows_linearly(name: str, shape: Callable[[int], bytes], n: int) -> None:
    growth = cpu_growth(site_pipeline, shape(n), shape(SCALE * n))
    assert growth < LINEAR_BOUND, f"{name}: {SCALE}x the input took {growth:.1f}x the processor time"


@pytest.mark.parametrize(("name", "shape"), UPLOAD_SHAPES, ids=[s[0] for s in UPLOAD_SHAPES])
def test_upload_sniffing_grows_linearly(name: str, shape: Callable[[int], bytes]) -> None:
    def sniff(data: bytes) -> None:
        with contextlib.suppress(UploadError):
            accept("upload.txt", data, max_bytes=10**9)

    small, large = python_lines(sniff, shape(100)), python_lines(sniff, shape(SCALE * 100))
    assert large <= LINES_BOUND * small + 50, f"{name}: {small} lines, then {large}"
    growth = cpu_growth(sniff, shape(100_000), shape(SCALE * 100_000))
    assert growth < LINEAR_BOUND, f"{name}: {SCALE}x the input took {growth:.1f}x the processor time"


def test_file_names_are_checked_in_time_independent_of_their_length() -> None:
    def name_check(name: str) -> None:
        with contextlib.suppress(UploadError):
            accept(name, b"x", max_bytes=10)

    for shape in (lambda n: "a" * n + ".txt", lambda n: "C:" * n, lambda n: "." * n, lambda n: "a\x00" * n):
        small, large = python_lines(name_check, shape(1_000)), python_lines(name_check, shape(SCALE * 1_000))
        assert large <= small + 5, f"a name {SCALE}x longer took {large} lines instead of {small}"


def test_the_search_query_is_cut_before_it_is_split() -> None:
    for text in ("a " * 100_000, '"' * 200_000, "x" * 200_000):
        small, large = python_lines(fts_query, text[:25_000]), python_lines(fts_query, text)
        assert large <= small + 5, (small, large)


THROUGH_THE_CLIENT = {
    "unterminated escaped quotes", "deep arrays", "many keys", "many tiny coordinates", "a long integer"
}


class TestThroughTheClient:
    """The same shapes through Django's test client, middleware, views and all."""

    @pytest.fixture
    def client(self, django_db: None) -> Client:
        return logged_in(make_user(f"linear-{id(self)}"))

    @pytest.mark.parametrize(
        ("name", "shape", "n"),
        [s for s in JSON_SHAPES if s[0] in THROUGH_THE_CLIENT],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_site_bodies(self, client: Client, name: str, shape: Callable[[int], bytes], n: int) -> None:
        def post(body: bytes) -> None:
            response = client.post("/sites/", body, content_type="application/json")
            assert response.status_code in {400, 413}, (response.status_code, response.content[:200])

        growth = cpu_growth(post, shape(n), shape(SCALE * n), repeats=3)
        assert growth < LINEAR_BOUND, f"POST /sites/ with {name}: {SCALE}x the body took {growth:.1f}x the time"

    @pytest.mark.parametrize(
        ("name", "content"),
        [
            ("invalid base64 at the end", lambda n: "A" * n + "!"),
            ("padding only", lambda n: "=" * n),
            ("valid base64 of a NUL file", lambda n: base64.b64encode(b"a" * n + b"\x00").decode()),
        ],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_document_bodies(self, client: Client, name: str, content: Callable[[int], str]) -> None:
        def post(text: str) -> None:
            body = json.dumps({"filename": "a.txt", "content_base64": text})
            response = client.post("/documents/api/", body, content_type="application/json")
            assert response.status_code in {400, 415}, (response.status_code, response.content[:200])

        growth = cpu_growth(post, content(100_000), content(SCALE * 100_000), repeats=3)
        assert growth < LINEAR_BOUND, f"POST /documents/api/ with {name}: {SCALE}x took {growth:.1f}x the time"


# --- hypothesis: shapes nobody listed -------------------------------------------------------------

JSON_ALPHABET = '"\\[]{}:,0123456789.eE+-tfnul ud8\n'
fragments = st.text(alphabet=JSON_ALPHABET, max_size=6)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=fragments, unit=st.text(alphabet=JSON_ALPHABET, min_size=1, max_size=8), suffix=fragments)
def test_generated_shapes_do_linear_python_work(prefix: str, unit: str, suffix: str) -> None:
    def shape(n: int) -> bytes:
        return (prefix + unit * n + suffix).encode()

    small, large = python_lines(site_pipeline, shape(40)), python_lines(site_pipeline, shape(SCALE * 40))
    assert large <= LINES_BOUND * small + 200, f"{small} lines at n=40, {large} at n={SCALE * 40}"


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=fragments, unit=st.text(alphabet=JSON_ALPHABET, min_size=1, max_size=8), suffix=fragments)
def test_generated_shapes_take_linear_processor_time(prefix: str, unit: str, suffix: str) -> None:
    def shape(n: int) -> bytes:
        return (prefix + unit * n + suffix).encode()

    n = 40_000 // len(unit)
    growth = cpu_growth(site_pipeline, shape(n), shape(SCALE * n), repeats=3)
    assert growth < LINEAR_BOUND, f"{SCALE}x the input took {growth:.1f}x the processor time"


# --- the check can fail -----------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def regex_depth_parse_json(body: bytes) -> Any:
    """The parser the outside review broke: strings stripped by a regex, brackets counted, then parsed."""
    try:
        return _regex_depth_parse_json(body)
    except ValueError:
        return None


def _regex_depth_parse_json(body: bytes) -> Any:
    text = body.decode("utf-8")
    deepest = depth = 0
    for bracket in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise ValueError("too deep")
    return json.loads(text)


# --8<-- [start:catches-the-regex]
def test_the_check_catches_the_quadratic_parser_this_replaced() -> None:
    def shape(n: int) -> bytes:
        return b'"' + b'\\"' * n

    growth = cpu_growth(
        regex_depth_parse_json, shape(400), shape(SCALE * 400), repeats=3
    )
    assert growth > LINEAR_BOUND, (
        f"the regex parser grew only {growth:.1f}x: the check would not catch it"
    )
    ours = cpu_growth(site_pipeline, shape(20_000), shape(SCALE * 20_000))
    assert ours < LINEAR_BOUND, ours
# --8<-- [end:catches-the-regex]
