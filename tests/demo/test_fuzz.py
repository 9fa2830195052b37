"""Fuzzing the demo's parsers of request input (issue 13): a clear 4xx or an accepted value, never anything else.

Directly: ``parse_json`` either returns a value or raises ``ApiError`` with a 4xx status and a
message; ``validate_polygon`` returns a Polygon or raises ``GeometryError``; ``accept`` returns an
``Upload`` or raises ``UploadError`` with a 4xx. No other exception (``TypeError``,
``OverflowError``, ``RecursionError``, ``UnicodeError``...) may escape any of them, since each would
be a 500. Then the same inputs through Django's test client, on every endpoint that reads a body,
a query or a form: never a 500.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from esg.documents.models import Document
from esg.documents.uploads import Upload, UploadError, accept
from esg.jsonapi import ApiError, parse_json
from esg.sites.geojson import GeometryError, Limits, validate_polygon
from esg.sites.models import Analysis, Site
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from .support import logged_in, make_user

JSON_ALPHABET = '"\\[]{}:,0123456789.eE+-tfnaulrsNIy \n\t'

numbers = (
    st.integers()
    | st.integers(min_value=-(10**120), max_value=10**120)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-200, max_value=200)
    | st.sampled_from([0, -0.0, 180, -180, 90, -90, 180.0000001, 1e-320, 5e-324])
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=40,
)
positions = st.lists(numbers, min_size=0, max_size=4) | json_values
rings = st.lists(positions, max_size=12) | json_values
polygons = st.fixed_dictionaries(
    {"type": st.sampled_from(["Polygon", "Feature", "MultiPolygon", "polygon"]) | json_values,
     "coordinates": st.lists(rings, max_size=3) | json_values},
    optional={"geometry": json_values},
)


def text_bodies() -> st.SearchStrategy[bytes]:
    """Bytes that are JSON, nearly JSON, or JSON-shaped noise."""
    dumped = json_values.map(lambda v: json.dumps(v).encode())
    noise = st.text(alphabet=JSON_ALPHABET, max_size=80).map(str.encode)
    spliced = st.tuples(dumped, st.integers(0, 200), st.text(alphabet=JSON_ALPHABET, max_size=6)).map(
        lambda t: t[0][: t[1]] + t[2].encode() + t[0][t[1] :]
    )
    return dumped | noise | spliced | st.binary(max_size=80)


def assert_clear_refusal(exc: ApiError | UploadError) -> None:
    assert 400 <= exc.status < 500, exc.status
    assert isinstance(exc.message, str) and 0 < len(exc.message) <= 400, exc.message


@given(text_bodies())
def test_parse_json_returns_a_value_or_a_clear_4xx(body: bytes) -> None:
    try:
        parse_json(body)
    except ApiError as exc:
        assert_clear_refusal(exc)


POLYGON_LIKE = st.fixed_dictionaries({"type": st.just("Polygon"), "coordinates": st.lists(rings, max_size=3)})


@given(st.one_of(polygons, json_values, POLYGON_LIKE))
def test_validate_polygon_returns_a_polygon_or_says_why(geometry: Any) -> None:
    try:
        polygon = validate_polygon(geometry, Limits(max_vertices=30))
    except GeometryError as exc:
        assert 0 < len(str(exc)) <= 300, str(exc)
        return
    assert polygon["type"] == "Polygon"
    for ring in polygon["coordinates"]:
        assert len(ring) >= 4 and ring[0] == ring[-1]
        assert all(isinstance(x, float) for position in ring for x in position)


NAMES = ["a.txt", "a.md", "a.pdf", "A.PDF", ".txt", "..", "C:a.txt", "/", "../x.md", 'a".txt']
names = st.text(max_size=30) | st.sampled_from(NAMES) | json_values
HEADS = [b"%PDF-", b"\xef\xbb\xbf", b"\x00", b"%PDF-1.7\n\x00"]
contents = st.binary(max_size=120) | st.sampled_from(HEADS).flatmap(
    lambda head: st.binary(max_size=60).map(lambda tail: head + tail)
)


@given(names, contents)
def test_upload_sniffing_accepts_or_refuses_with_a_4xx(name: Any, data: bytes) -> None:
    try:
        upload = accept(name, data, max_bytes=100)
    except UploadError as exc:
        assert_clear_refusal(exc)
        return
    assert isinstance(upload, Upload) and upload.kind in {"text", "markdown", "pdf"}
    assert "\x00" not in upload.text
    upload.text.encode("utf-8")


def post_raw_upload(client: Any, name: str, data: bytes) -> HttpResponse:
    """A multipart upload written by hand: the file name exactly as given (a browser would clean it)."""
    boundary = "fuzz-7c1f2b"
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode("utf-8", "surrogatepass") + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/documents/", form, content_type=f"multipart/form-data; boundary={boundary}")  # type: ignore[no-any-return]


class ThroughTheClientTests(HypothesisTestCase):
    """Each example in its own transaction: whatever is accepted is rolled back, nothing leaks between them."""

    def user(self) -> Any:
        self.ada = make_user("fuzz")
        return logged_in(self.ada)

    def assert_no_500(self, response: HttpResponse, *, json_error: bool = True) -> None:
        self.assertLess(response.status_code, 500, response.content[:300])
        if json_error and response.status_code >= 400:
            self.assertIsInstance(response.json()["error"], str)

    @given(text_bodies())
    def test_every_json_endpoint_answers_any_body_without_a_500(self, body: bytes) -> None:
        client = self.user()
        site = Site.objects.create(name="P", geometry={}, area_km2=1.0, owner=self.ada)
        for url in ("/sites/", f"/sites/{site.pk}/analyses/", "/documents/api/"):
            self.assert_no_500(client.post(url, body, content_type="application/json"))

    @given(names, contents)
    def test_uploads_through_both_doors_never_500(self, name: Any, data: bytes) -> None:
        client = self.user()
        body = json.dumps({"filename": name, "content_base64": base64.b64encode(data).decode()})
        self.assert_no_500(client.post("/documents/api/", body, content_type="application/json"))
        if isinstance(name, str):
            self.assert_no_500(post_raw_upload(client, name, data), json_error=False)
        for document in Document.objects.all():
            self.assertNotIn("\x00", document.text)

    def test_the_hand_written_upload_stores_a_good_file(self) -> None:
        # The fuzzer's multipart body is a real upload: a good file through it is stored.
        self.assertEqual(post_raw_upload(self.user(), "notes.txt", b"hello").status_code, 302)
        self.assertEqual(Document.objects.get().text, "hello")

    @given(st.text(max_size=60), st.text(max_size=60))
    def test_forms_and_queries_never_500(self, first: str, second: str) -> None:
        client = self.user()
        self.assert_no_500(client.get("/documents/api/search/", {"q": first}))
        self.assert_no_500(client.get("/documents/search/", {"q": first}), json_error=False)
        anonymous = type(client)()
        login = anonymous.post("/accounts/login/", {"username": first, "password": second})
        self.assert_no_500(login, json_error=False)
        self.assert_no_500(anonymous.post("/accounts/password-reset/", {"email": first}), json_error=False)
        # A path that routes nowhere gets Django's own 404 page: not JSON, and not a 500.
        path = f"/sites/{quote(first[:20], safe='')}/analyses/{quote(second[:40], safe='')}/"
        self.assert_no_500(client.get(path), json_error=False)
        self.assertEqual(Analysis.objects.count(), 0)
