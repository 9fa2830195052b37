# dualqueue: every target sets itself up. On a fresh machine with Python 3.11 and make:
#   make demo   runs the main job (the Django ESG demo on its embedded defaults; see the demo target)
#   make test   sets up and runs the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,django,ee,docs,bench

.PHONY: browser figures setup test lint typecheck pytest docs-build docs demo walkthrough bench bench-quick clean mutation

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

# The Django ESG demo on its embedded defaults (SQLite, console email, Earth Engine dry run):
#   make demo                        runserver on http://127.0.0.1:8000/
#   make demo PORT=8080              another port
#   make demo DEMO_SERVER=gunicorn   gunicorn (gthread, 2 workers) with dualqueue's hooks
# Every setting of reference/demo/demo/settings.py can come from the environment (DEMO_VAR_DIR,
# DATABASE_URL, EMAIL_HOST/EMAIL_PORT, GEE_PROJECT, DEMO_ADMIN_PASSWORD, DUALQUEUE_STATUS_TOKEN...).
PORT ?= 8000
DEMO_SERVER ?= runserver
DEMO_MANAGE := $(abspath $(BIN))/python reference/demo/manage.py

demo: $(STAMP)
	@mkdir -p "$${DEMO_VAR_DIR:-reference/demo/var}"
	@export DUALQUEUE_STATUS_TOKEN="$${DUALQUEUE_STATUS_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')}"; \
	set -e; \
	$(DEMO_MANAGE) migrate --no-input -v 0; \
	$(DEMO_MANAGE) seed_demo; \
	echo ""; \
	echo "  ESG demo:       http://127.0.0.1:$(PORT)/   (log in with the staff user above)"; \
	echo "  status page:    http://127.0.0.1:$(PORT)/background-tasks/status/page/   (staff)"; \
	echo "  status JSON:    curl -H \"Authorization: Bearer $$DUALQUEUE_STATUS_TOKEN\" http://127.0.0.1:$(PORT)/background-tasks/status/"; \
	echo "  flood:          $(BIN)/python reference/demo/manage.py flood --analyses 40 --resets 20 --simulated-seconds 2"; \
	echo "  server:         $(DEMO_SERVER) (Ctrl-C stops it; the pools drain what they can first)"; \
	echo ""; \
	case "$(DEMO_SERVER)" in \
	  runserver) exec $(DEMO_MANAGE) runserver --noreload 127.0.0.1:$(PORT) ;; \
	  gunicorn) exec $(abspath $(BIN))/gunicorn -c python:dualqueue.django.gunicorn --pythonpath reference/demo \
	              -b 127.0.0.1:$(PORT) demo.wsgi ;; \
	  *) echo "DEMO_SERVER must be runserver or gunicorn, got '$(DEMO_SERVER)'" >&2; exit 2 ;; \
	esac

# The reliability figures quoted by docs/guides/promises.md: the load and fault tests at full size,
# the end-to-end tests, rendered into the page with the date and the machine.
figures: $(STAMP) browser
	DUALQUEUE_FIGURES_JSON=docs/guides/promises-figures.json $(BIN)/pytest -q \
	  tests/reliability tests/e2e
	$(BIN)/python -m tests.figures docs/guides/promises-figures.json docs/guides/promises.md

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .site .coverage htmlcov

# Mutation testing of the core (mutmut 3 over reference/dualqueue, against tests/core). Slow (hours on
# 2 cores), not a CI gate: the summary is in docs/guides/testing-concurrency.md. MUTATION_ARGS passes
# options to tools/mutation.py, e.g. MUTATION_ARGS="--max-children 4".
mutation: $(STAMP)
	$(BIN)/python -m pip install -q "mutmut==3.8.1"
	$(BIN)/python tools/mutation.py $(MUTATION_ARGS)
