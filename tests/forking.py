"""The one warning the fork tests expect, and why it is filtered by its text alone.

Python 3.12+ emits ``DeprecationWarning: This process (pid=...) is
multi-threaded, use of fork() may lead to deadlocks in the child.`` whenever a
process with live threads forks: in general the child inherits locks held by
threads it does not have. dualqueue's at-fork hooks rebuild every lock, pool,
clock and debouncer of its own in the child, and the tests marked with this
filter fork on purpose to prove exactly that. So this warning, and only this
one (matched by its message, not every ``DeprecationWarning``), is expected
there; ``tests/core/test_untested_corners.py`` checks that 3.12+ does emit it.
"""

FORK_WITH_THREADS = (
    r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to "
    r"deadlocks in the child\.:DeprecationWarning"
)
