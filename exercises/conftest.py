"""Settings for running exercise tests (each run is its own pytest process; see ``exercises.checker``)."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

# Sized for a shared 2-core machine; a learner's own @settings still wins. Derandomized, so that a
# run's verdict is repeatable: the same code gets the same examples, in CI and on a learner's machine.
# No "explain" phase: its coverage notes would crowd out the failure message that matters.
settings.register_profile(
    "exercises",
    max_examples=60,
    deadline=None,
    derandomize=True,
    phases=[phase for phase in Phase if phase is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("exercises")
