"""The demo under attack, as an attacker with an ordinary account would try it (issue 13), bounded in time.

One gunicorn (gthread, ``--preload``, 2 workers, DEBUG off as in production) on loopback, the demo's
own settings, two accounts: the seeded staff user and an ordinary one. Every attack either gets a
clear 4xx (or 429) in time proportional to its size and stores nothing, or is accepted and bounded
in the background; and while an attack request is in flight, another request answers. The waits
are deadlock detectors, never performance claims.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.demo.hostile_pdfs import path_operator_pdf
from tests.e2e.harness import STATUS_TOKEN, DemoClient, DemoEnv, Gunicorn, running_gunicorn, wait_until
from tests.e2e.workload import FIELD, STAFF_PASSWORD, STAFF_USERNAME, create_site, login

pytestmark = pytest.mark.slow

MEMBER, MEMBER_PASSWORD = "e2e-member", "e2e-member-password-7"
ANALYSIS_LIMIT = 5  # SITE_MAX_UNFINISHED_ANALYSES for this server
LOGIN_LIMIT = 5  # LOGIN_LIMIT_PER_USERNAME for this server
DEADLOCK = 60.0


@pytest.fixture(scope="module")
def demo(seeded_demo: DemoEnv, tmp_path_factory: pytest.TempPathFactory) -> DemoEnv:
    """A private copy of the seeded demo, with an ordinary member and small limits."""
    env = DemoEnv(
        tmp_path_factory.mktemp("attack"),
        SITE_MAX_UNFINISHED_ANALYSES=str(ANALYSIS_LIMIT),
        LOGIN_LIMIT_PER_USERNAME=str(LOGIN_LIMIT),
        GEE_DRY_RUN_SECONDS="20",  # analyses stay unfinished for the length of the test
        DOCUMENTS_EXTRACT_CPU_SECONDS="2",
    )
    for part in seeded_demo.var_dir.glob(seeded_demo.sqlite_path.name + "*"):
        shutil.copyfile(part, env.var_dir / part.name)
    env.manage(
        "shell", "-c",
        f"from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user({MEMBER!r}, 'member@example.com', {MEMBER_PASSWORD!r})",
    )
    return env


@pytest.fixture(scope="module")
def server(demo: DemoEnv) -> Iterator[Gunicorn]:
    with running_gunicorn(demo, workers=2, extra_args=["--graceful-timeout", "3"]) as started:
        yield started


@pytest.fixture(scope="module")
def member(server: Gunicorn) -> DemoClient:
    """The ordinary member, logged in once (every login counts against LOGIN_LIMIT)."""
    client = DemoClient(server.base_url)
    login(client, MEMBER, MEMBER_PASSWORD)
    client.get("/sites/")  # the csrftoken cookie for the JSON API
    return client


def raw_request(server: Gunicorn, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` and ``body`` on one connection exactly as given; (status, response bytes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLOCK) as conn:
        conn.sendall(head + body)
        return _read_response(conn)


def _read_response(conn: socket.socket) -> tuple[int, bytes]:
    chunks = []
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        chunks.append(chunk)
    response = b"".join(chunks)
    return int(response.split(b" ", 2)[1]), response


POLYGON_BODY = b'{"name": "x", "geometry": {"type": "Polygon", "coordinates": [[%s]]}}'
JSON = {"Content-Type": "application/json"}
TOKEN = {"Authorization": f"Bearer {STATUS_TOKEN}"}


def hostile_bodies() -> list[tuple[str, bytes]]:
    many_keys = b"{" + b",".join(b'"k%d":0' % i for i in range(60_000)) + b"}"
    coordinates = ",".join(f"[{i * 1e-6:.6f},0]" for i in range(12_000))
    return [
        ("unterminated escaped quotes (the review's 60 KB body)", b'"' + b'\\"' * 30_000),
        ("escaped quotes in a name", b'{"name": "' + b'\\"' * 300_000 + b'", "geometry": {}}'),
        ("deep nesting", b"[" * 400_000),
        ("a 500,000-digit number", b'{"name": "x", "geometry": [' + b"9" * 500_000 + b"]}"),
        ("60,000 keys", many_keys),
        ("12,000 tiny coordinates", POLYGON_BODY % coordinates.encode()),
        ("a lone surrogate", b'{"name": "\\ud800", "geometry": {}}'),
    ]


def test_hostile_bodies_get_a_clear_400_while_other_requests_are_answered(
    server: Gunicorn, member: DemoClient
) -> None:
    before = len(member.get("/sites/").json()["sites"])
    answered: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:  # another client, on fresh connections, all the while
        other = DemoClient(server.base_url)
        while not stop.is_set():
            answered.append(other.get("/background-tasks/status/", headers=TOKEN).status_code)

    watcher = threading.Thread(target=keep_asking)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as attackers:
            futures = {
                name: attackers.submit(member.post, "/sites/", data=body, headers=JSON)
                for name, body in hostile_bodies()
            }
            results = {name: future.result(timeout=DEADLOCK) for name, future in futures.items()}
    finally:
        stop.set()
        watcher.join(DEADLOCK)
    for name, response in results.items():
        assert response.status_code == 400, f"{name}: {response.status_code} {response.text[:300]}"
        assert isinstance(response.json()["error"], str), name
    assert answered and set(answered) == {200}, f"the status endpoint answered {answered} during the attack"
    assert len(member.get("/sites/").json()["sites"]) == before, "a refused body stored a site"


def test_another_request_answers_while_an_attack_request_is_in_flight(server: Gunicorn, member: DemoClient) -> None:
    # Half of the review's body is sent, and the connection held open: the request is in flight.
    body = b'"' + b'\\"' * 30_000
    cookies = "; ".join(f"{c.name}={c.value}" for c in member.session.cookies)
    head = (
        f"POST /sites/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\nX-CSRFToken: {member.csrf_token}\r\n"
        f"Referer: {server.base_url}/sites/\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLOCK) as attack:
        attack.sendall(head + body[: len(body) // 2])
        for _ in range(8):  # more than one worker's four threads: every answer comes while the attack waits
            assert member.get("/sites/").status_code == 200
        attack.sendall(body[len(body) // 2 :])
        status, response = _read_response(attack)
    assert status == 400, response[:500]
    assert b"not valid JSON" in response


def test_oversized_and_malformed_bodies_are_refused_before_they_are_read(server: Gunicorn) -> None:
    # 50 MB declared, nothing sent: the answer comes at once, from the declared length alone.
    status, response = raw_request(
        server,
        b"POST /documents/api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\nConnection: close\r\n\r\n",
    )
    assert status == 413, response[:500]
    status, _ = raw_request(
        server,
        b"POST /sites/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: nine\r\nConnection: close\r\n\r\n",
    )
    assert status == 400


def test_a_bad_host_gets_a_plain_400_without_debug_details(server: Gunicorn) -> None:
    for path in ("/", "/sites/", "/no-such-page/"):
        head = f"GET {path} HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n"
        status, response = raw_request(server, head.encode())
        assert status == 400, response[:300]
        for leak in (b"Traceback", b"DisallowedHost", b"SECRET_KEY", b"ALLOWED_HOSTS", b"urlpatterns"):
            assert leak not in response, f"{path}: the 400 shows {leak!r}"
    missing = requests.get(f"{server.base_url}/no-such-page/", timeout=DEADLOCK)
    assert missing.status_code == 404 and "background-tasks" not in missing.text


def test_the_status_endpoint_refuses_without_a_token_with_a_wrong_one_and_for_members(
    server: Gunicorn, member: DemoClient
) -> None:
    url = f"{server.base_url}/background-tasks/status/"
    cases = {
        "no token": requests.get(url, timeout=DEADLOCK),
        "wrong token": requests.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=DEADLOCK),
            "a 4 KB token": requests.get(url, headers={"Authorization": "Bearer " + "x" * 4_000}, timeout=DEADLOCK),
            "a 10 KB header": requests.get(url, headers={"Authorization": "Bearer " + "x" * 10_000}, timeout=DEADLOCK),
        "a member's session": member.get("/background-tasks/status/"),
    }
    # gunicorn itself refuses a header over its 8 KB field limit (431) before Django sees it.
    expected = {"no token": {401}, "wrong token": {401}, "a 4 KB token": {401}, "a 10 KB header": {431}}
    expected["a member's session"] = {403}
    for case, response in cases.items():
        assert response.status_code in expected[case], (case, response.status_code)
        assert "pools" not in response.text and "site" not in response.text, f"{case}: the refusal says too much"


def test_one_user_cannot_queue_more_than_their_limit_across_both_workers(
    server: Gunicorn, member: DemoClient, demo: DemoEnv
) -> None:
    site_url = create_site(member, "Attack field")
    with ThreadPoolExecutor(8) as posters:  # at once, on fresh connections: both workers take some
        responses = list(posters.map(lambda _: member.post(f"{site_url}analyses/"), range(4 * ANALYSIS_LIMIT)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] * ANALYSIS_LIMIT + [429] * (3 * ANALYSIS_LIMIT), codes
    refused = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["Retry-After"]) > 0 and "the limit is 5" in r.json()["error"] for r in refused)
    stored = demo.query(
        f"import json; from esg.sites.models import Analysis; "
        f"print(json.dumps(Analysis.objects.filter(site__owner__username={MEMBER!r}).count()))"
    )
    assert stored == ANALYSIS_LIMIT, f"{stored} analyses stored for a limit of {ANALYSIS_LIMIT}"


def test_login_guesses_are_throttled_across_both_workers(server: Gunicorn) -> None:
    def guess(i: int) -> int:
        client = DemoClient(server.base_url)
        return client.post_form("/accounts/login/", {"username": STAFF_USERNAME, "password": f"guess-{i}"}).status_code

    with ThreadPoolExecutor(6) as guessers:
        codes = sorted(guessers.map(guess, range(3 * LOGIN_LIMIT)))
    # Both worker processes count on the same rows: exactly LOGIN_LIMIT guesses are checked (the
    # form again, 200), every other one is refused unchecked.
    assert codes == [200] * LOGIN_LIMIT + [429] * (2 * LOGIN_LIMIT), codes
    right = DemoClient(server.base_url).post_form(
        "/accounts/login/", {"username": STAFF_USERNAME, "password": STAFF_PASSWORD}
    )
    assert right.status_code == 429, "the right password got through a throttled user name"


def test_a_hostile_pdf_is_accepted_at_once_and_fails_bounded_in_the_background(
    server: Gunicorn, member: DemoClient
) -> None:
    data = path_operator_pdf()
    body = {"filename": "annual-report.pdf", "content_base64": base64.b64encode(data).decode()}
    accepted = member.post("/documents/api/", json=body)
    assert accepted.status_code == 201, accepted.text[:500]
    document = accepted.json()
    assert document["status"] == "processing"
    assert member.get("/sites/").status_code == 200  # answered while the extraction runs

    def finished() -> dict[str, Any] | None:
        found = [d for d in member.get("/documents/api/").json()["documents"] if d["id"] == document["id"]]
        return found[0] if found and found[0]["status"] != "processing" else None

    final = wait_until(finished, DEADLOCK, "the hostile PDF's extraction to end", interval=0.5)
    assert final["status"] == "failed" and "2 s of processor time" in final["error"], final


def test_field_is_a_valid_site_for_this_server(member: DemoClient) -> None:
    # The attacks above are refused for what they are, not because no site could be made here.
    response = member.post("/sites/", data=json.dumps({"name": "ok", "geometry": FIELD}), headers=JSON)
    assert response.status_code == 201, response.text[:300]
