"""Exercise 1: make a worker survive the exceptions of its tasks (chapter 2)."""
