"""Exercise 12: write the property test that catches a broken debouncer (chapter 11)."""
