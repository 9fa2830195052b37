"""Exercise 8: retry with exponential backoff, on the clock (chapter 8)."""
