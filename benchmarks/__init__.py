"""dualqueue measured side by side with the alternatives, in one run.

One module per family of measurements (``enqueue``, ``latency``, ``throughput``,
``debounce``, ``memory``, ``scaling``), shared tools in ``measure``, targets,
tables and plots in ``report``. Run ``python -m benchmarks`` (``make bench``) or
``python -m benchmarks --quick`` (``make bench-quick``).
"""
