"""Settings for running exercise tests (each run is its own pytest process; see ``exercises.checker``)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Sized for a shared 2-core machine; a learner's own @settings still wins. Derandomized, so that a
# run's verdict is repeatable: the same code gets the same examples, in CI and on a learner's machine.
settings.register_profile(
    "exercises", max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("exercises")
