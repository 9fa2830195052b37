"""Exercise 13: claim each periodic tick exactly once across processes, through a file lock."""
