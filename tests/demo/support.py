"""Small tools the demo's tests share."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client

DEADLOCK = 10.0  # seconds: only ever a deadlock detector, never a latency claim


def square(lon: float = 10.0, lat: float = 50.0, size: float = 0.1) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def make_user(name: str, *, password: str = "correct horse battery staple", **extra: Any) -> Any:
    return get_user_model().objects.create_user(name, f"{name}@example.com", password, **extra)


def logged_in(user: Any, **client_kwargs: Any) -> Client:
    client = Client(**client_kwargs)
    client.force_login(user)
    return client


def post_json(client: Client, url: str, body: Any, **extra: Any) -> HttpResponse:
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def create_site(client: Client, name: str = "Forest plot", geometry: dict[str, Any] | None = None) -> int:
    response = post_json(client, "/sites/", {"name": name, "geometry": geometry or square()})
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def make_pdf(text: str = "") -> bytes:
    """A one-page PDF (Helvetica) whose page shows ``text``; with no text, a page without a text layer."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1") if text else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
