"""Runnable examples of the reference core; each is imported by a test."""
