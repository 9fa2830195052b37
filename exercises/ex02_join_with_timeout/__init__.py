"""Exercise 2: a join that can time out (chapter 3)."""
