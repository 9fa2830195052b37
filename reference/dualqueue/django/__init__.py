"""dualqueue.django: the Django adapter (app config, settings, Tasks backend, status views, gunicorn hooks)."""

from .progress import progress_of, report_progress

__all__ = ["progress_of", "report_progress"]
