"""Exercise 6: a snapshot whose invariant holds (chapter 6)."""
