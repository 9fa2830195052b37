"""Exercise 4: a bounded queue that says no at the caller (chapter 5)."""
