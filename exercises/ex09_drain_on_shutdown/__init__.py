"""Exercise 9: drain on shutdown, with a deadline (chapter 9)."""
