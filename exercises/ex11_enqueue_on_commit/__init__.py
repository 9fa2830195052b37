"""Exercise 11: enqueue on commit in Django (chapter 10).

A small Django configuration of its own (``settings.py``, ``urls.py``) and a
task (``tasks.py``); the learner writes the view. Its checks run in their own
process (``python -m exercises run 11``), never in the test suite's Django
configuration.
"""
