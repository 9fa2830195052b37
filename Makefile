# dualqueue: every target sets itself up. On a fresh machine with Python 3.11 and make:
#   make demo   runs the main job (the Django ESG demo on its embedded defaults)
#   make test   sets up and runs the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,django,ee,docs,bench

.PHONY: browser setup test lint typecheck pytest docs-build docs demo walkthrough bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "dualqueue needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

# The browser test drives Debian's chromium (never a downloaded browser): install it once, as root
# (CI) or through passwordless sudo; elsewhere say what to run.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "make: chromium is missing; install it with: sudo apt-get install chromium" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict reference/dualqueue --exclude 'reference/dualqueue/django/'

pytest: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --fail-under=95

docs-build: $(STAMP)
	@if [ -f mkdocs.yml ]; then NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site; fi

test: lint typecheck browser pytest docs-build

walkthrough: $(STAMP)
	$(BIN)/python -m examples.walkthrough

demo: walkthrough

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .site .coverage htmlcov
