"""The live Earth Engine path, end to end, with a fake HTTP transport instead of Google.

Run as ``python -m tests.demo.ee_fake_transport`` (in its own process: the library's state is
process-global, and the test process is in dry-run mode). It initializes the real client with
``http_transport=FakeTransport(...)``, which answers the discovery and algorithm-list requests
from the documents bundled in the wheel and answers ``value:compute`` with 429 for the first
``QUOTA_FAILURES`` calls and then with ``VALUES``. It prints one JSON object: the analysis
result, the requests the transport saw and the sleeps the retry asked for.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import ee
import httplib2

QUOTA_FAILURES = 2
VALUES = {"scenes": 7, "ndvi": {"ndvi_mean": 0.5}, "note": "made up by the fake transport of a test"}
POLYGON = {"type": "Polygon", "coordinates": [[[10, 50], [10.1, 50], [10.1, 50.1], [10, 50.1], [10, 50]]]}
WINDOW = {"start": "2024-01-01", "end": "2025-01-01"}

_BUNDLED = os.path.join(os.path.dirname(ee.__file__), "tests")


class FakeTransport:
    """An ``httplib2.Http`` stand-in: ``request()`` returns ``(response, content)``."""

    def __init__(self, quota_failures: int) -> None:
        self.quota_failures = quota_failures
        self.seen: list[dict[str, Any]] = []
        with open(os.path.join(_BUNDLED, "cloud_api_discovery_document.json"), "rb") as f:
            self.discovery = f.read()
        with open(os.path.join(_BUNDLED, "algorithms.json"), "rb") as f:
            self.algorithms = f.read()

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None, **_: Any) -> Any:
        path = uri.split("?")[0]
        self.seen.append({"method": method, "path": path, "headers": dict(headers or {})})
        if "$discovery" in uri:
            return httplib2.Response({"status": 200}), self.discovery
        if path.endswith("/algorithms"):
            return httplib2.Response({"status": 200}), self.algorithms
        if path.endswith("/value:compute"):
            self.seen[-1]["expression"] = json.loads(body)["expression"]
            computes = sum(1 for r in self.seen if r["path"].endswith("/value:compute"))
            if computes <= self.quota_failures:
                error = {"error": {"code": 429, "message": "Too many requests.", "status": "RESOURCE_EXHAUSTED"}}
                return httplib2.Response({"status": 429}), json.dumps(error).encode()
            return httplib2.Response({"status": 200}), json.dumps({"result": VALUES}).encode()
        return httplib2.Response({"status": 404}), b'{"error": {"code": 404, "message": "not faked"}}'


def main() -> None:
    from ee import deprecation
    from esg.sites import earth_engine

    deprecation._FetchDataCatalogStac = lambda: {}  # the public data catalog is not the subject here
    transport = FakeTransport(QUOTA_FAILURES)
    earth_engine.initialize_live("demo-project", None, http_transport=transport)
    sleeps: list[float] = []
    engine = earth_engine.EarthEngine(live=True, prepare=lambda: None, sleep=sleeps.append)
    result = engine.analyse(POLYGON, **WINDOW)
    expr = earth_engine.build_analysis(POLYGON, **WINDOW)
    cloud_expression = ee.serializer.encode(expr, for_cloud_api=True)
    json.dump(
        {
            "result": result,
            "requests": transport.seen,
            "sleeps": sleeps,
            "expected_expression": cloud_expression,
            "max_retries": ee.data._get_state().max_retries,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
