"""The bugs before the fixes: deliberately broken variants of the reference core.

Each is a small subclass that overrides one method of the reference and gets one
thing wrong, the way real code gets it wrong. They exist for two readers:

* the property tests in ``tests/``, which must fail on every one of them (a
  property that catches nothing proves nothing);
* the chapters, which show each bug before its fix.

Never use them for anything else.
"""

from .debouncers import EagerFollowUpDebouncer, FixedWindowDebouncer, ForgetfulDebouncer
from .hostile import (
    CancelAtCloseDebouncer,
    CancelAtCloseSystem,
    FixedJoinPool,
    NarrowCatchPool,
    TextUnderMutexPool,
    live_pools_without_a_copy,
)
from .pools import (
    ForgetfulShutdownPool,
    NoForkResetPool,
    SharedPoolSystem,
    UnboundedDeadLetterPool,
    UnlockedStatsPool,
)

__all__ = [
    "CancelAtCloseDebouncer",
    "CancelAtCloseSystem",
    "EagerFollowUpDebouncer",
    "FixedJoinPool",
    "FixedWindowDebouncer",
    "ForgetfulDebouncer",
    "ForgetfulShutdownPool",
    "NarrowCatchPool",
    "NoForkResetPool",
    "SharedPoolSystem",
    "TextUnderMutexPool",
    "UnboundedDeadLetterPool",
    "UnlockedStatsPool",
    "live_pools_without_a_copy",
]
