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
