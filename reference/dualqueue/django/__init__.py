"""dualqueue.django: the Django adapter (app config, settings, Tasks backend, status views, gunicorn hooks)."""
