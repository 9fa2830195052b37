"""Another worker process, for the checks of exercise 13: it claims one tick and says what it does.

    python -m exercises.ex13_claim_each_tick_once.claimer DIRECTORY NAME TICK PREVIOUS [--pause]

It loads the ``claims.py`` under test (chosen by ``EXERCISE_IMPL``, as the
checks do) and calls ``FileClaims(DIRECTORY).claim(NAME, TICK, PREVIOUS)``.
Every step the checks need to order is printed on its own line of stdout:

* ``busy``: a lock attempt (``fcntl.flock`` or ``fcntl.lockf``) found the lock
  held by someone else. A blocking attempt then waits for it, as it would have;
* ``writing``: with ``--pause``, the claim reached ``write_record`` (so it
  holds the lock, if it took one); it waits for a line on stdin before writing;
* ``result {"won": ..., "last": ..., "skipped": ...}`` or ``result {"error": ...}``.

So the checks order two processes by facts (one is mid-claim, the other has
found the lock taken) and never by sleeping and hoping.
"""

from __future__ import annotations

import fcntl
import json
import sys
from typing import Any


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def watched(real: Any) -> Any:
    """``fcntl.flock``/``lockf`` that says ``busy`` when the lock is held elsewhere."""

    def lock(fd: Any, operation: int, *args: Any) -> Any:
        if operation & fcntl.LOCK_UN or not operation & (fcntl.LOCK_EX | fcntl.LOCK_SH):
            return real(fd, operation, *args)
        try:
            return real(fd, operation | fcntl.LOCK_NB, *args)
        except (BlockingIOError, PermissionError):
            say("busy")
            if operation & fcntl.LOCK_NB:
                raise
        return real(fd, operation, *args)  # wait, as the code under test asked

    return lock


def main(argv: list[str]) -> None:
    directory, name, tick, previous = argv[:4]
    fcntl.flock = watched(fcntl.flock)  # before the module under test imports anything
    fcntl.lockf = watched(fcntl.lockf)
    from exercises.target import load

    claims = load("ex13_claim_each_tick_once", "claims")
    if "--pause" in argv:
        write = claims.write_record

        def paused(*args: Any, **kwargs: Any) -> Any:
            say("writing")
            sys.stdin.readline()  # the check says when
            return write(*args, **kwargs)

        claims.write_record = paused
    try:
        claim = claims.FileClaims(directory).claim(
            name, float(tick), None if previous == "none" else float(previous)
        )
        result: dict[str, Any] = {
            "won": claim.won, "last": claim.last, "skipped": claim.skipped
        }
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    say("result " + json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
