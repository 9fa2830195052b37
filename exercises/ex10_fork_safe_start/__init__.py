"""Exercise 10: fork-safe lazy start (chapter 9)."""
