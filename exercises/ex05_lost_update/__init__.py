"""Exercise 5: fix the racy counter (chapter 6)."""
