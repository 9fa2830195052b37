"""Exercise 7: max_wait for the debouncer (chapter 7)."""
