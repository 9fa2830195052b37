"""Exercises for the dualqueue book: small tasks, each proven both ways, and a runner to work through them.

Each exercise lives in ``exercises/exNN_slug/``: ``README.md`` (the task),
``starter/`` (the code to fix, with TODOs), ``solution/`` (the tested answer),
``hints.md`` (hints, one at a time) and ``test_exercise.py`` (the checks).
The tests import the code under test through ``exercises.target``, so the same
tests run against the starter (they must fail), the solution (they must pass)
and the learner's working copy in ``exercises/workspace/``.

Run ``python -m exercises`` for the runner's help.
"""
