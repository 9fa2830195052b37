"""Exercise 3: isolation with two pools (chapter 5)."""
