"""Chapter 1: the work inside the request makes the request wait; a thread per request
fixes that and nothing else.

Causal, never timed: the work blocks on an Event, so a request that returns
while the work is blocked cannot be waiting for it, and one that runs the work
on its own thread must be.
"""

from __future__ import annotations

import threading

from chapters.ch01_blocking_request import BlockingApp, ThreadPerRequestApp, demo

from .support import DEADLOCK, Gate


# --8<-- [start:verdict]
def work_runs_inside_the_request(app_class: type[BlockingApp]) -> bool:
    """True if the password reset's email runs on the request's own thread (so the
    response waits for it)."""
    email_thread: list[threading.Thread] = []
    request_thread: list[threading.Thread] = []
    sent = threading.Event()

    def send_email(address: str) -> None:
        email_thread.append(threading.current_thread())
        sent.set()

    def request() -> None:
        request_thread.append(threading.current_thread())
        app_class(send_email=send_email).password_reset("ana@example.org")

    handler = threading.Thread(target=request)
    handler.start()
    handler.join(DEADLOCK)
    assert sent.wait(DEADLOCK), "the email was never sent"
    return email_thread == request_thread
    # --8<-- [end:verdict]


# --8<-- [start:tests]
def test_the_blocking_request_runs_the_email_inside_the_request() -> None:
    assert work_runs_inside_the_request(BlockingApp) is True


def test_a_thread_per_request_moves_the_email_out_of_the_request() -> None:
    assert work_runs_inside_the_request(ThreadPerRequestApp) is False
    # --8<-- [end:tests]


def test_a_blocking_request_cannot_answer_while_its_analysis_is_running() -> None:
    gate = Gate()
    app = BlockingApp(analyse=gate.task)
    answered = threading.Event()
    handler = threading.Thread(target=lambda: (app.site_analysis(7), answered.set()))
    handler.start()
    try:
        assert gate.wait_until_entered(1)
        # The analysis is on the handler's own stack: the answer needs the gate to open.
        assert not answered.is_set()
        assert handler.is_alive()
    finally:
        gate.open()
    handler.join(DEADLOCK)
    assert answered.is_set()


def test_a_thread_per_request_answers_while_the_analysis_is_still_running() -> None:
    gate = Gate()
    app = ThreadPerRequestApp(analyse=gate.task)
    try:
        response = app.site_analysis(
            7
        )  # would hang here if the request waited for the analysis
        assert response.status == 202
        assert gate.wait_until_entered(1)
    finally:
        gate.open()
    for (
        thread
    ) in gate.threads:  # leave no thread behind for later tests that count threads
        thread.join(DEADLOCK)


# --8<-- [start:unbounded]
def test_a_thread_per_request_starts_a_thread_each_and_nothing_bounds_them() -> None:
    gate = Gate()
    app = ThreadPerRequestApp(analyse=gate.task)
    try:
        for site_id in range(40):
            app.site_analysis(site_id)
        # All forty analyses run at the same time, each on a thread of its own.
        assert gate.wait_until_entered(40), (
            f"only {gate.entered} of 40 analyses were running at once"
        )
        assert len(set(gate.threads)) == 40
    finally:
        gate.open()
    for thread in gate.threads:
        thread.join(DEADLOCK)
    # --8<-- [end:unbounded]


def test_the_demo_shows_fast_background_answers_and_a_thread_per_request() -> None:
    lines: list[str] = []
    result = demo.main(print=lambda *a: lines.append(" ".join(map(str, a))))
    assert result["extra_threads"] == 20
    assert len(lines) == 4 and "20 threads at once" in lines[-1]
