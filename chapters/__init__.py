"""The book's code: one package per chapter, each a runnable, tested snapshot of the core."""
