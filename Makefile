# dualqueue: every target sets itself up. On a fresh machine with Python 3.11 and make:
#   make demo   runs the main job (the Django ESG demo on its embedded defaults; see the demo target)
#   make test   sets up and runs the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,django,ee,docs,bench,wayout

# The second Django line and the newer Pythons (CI: pyenv's builds on this kind of machine; elsewhere
# python3.12/python3.13 on PATH, or PY312=/path/to/python PY313=/path/to/python).
PYENV_ROOT ?= $(HOME)/.pyenv
find_python = $(firstword $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)) $(shell command -v python$(1) 2>/dev/null))
PY312 ?= $(call find_python,3.12)
PY313 ?= $(call find_python,3.13)
# Django 6.1 (built-in django.tasks, no backport) on Python 3.13; it also runs the core on 3.13.
VENV61 ?= .venv-django61
STAMP61 := $(VENV61)/.installed-stamp
# The core on Python 3.12 (Django 6.1 and the way out too, for the chapters that use them).
VENV312 ?= .venv-py312
STAMP312 := $(VENV312)/.installed-stamp
# What runs again on the second Django line: everything that imports Django or runs the demo.
DJANGO_SUITES := tests/django tests/demo tests/conformance tests/e2e
# What runs again on each newer Python: the parts whose behaviour depends on the interpreter.
CORE_SUITES := tests/core tests/chapters tests/reliability

.PHONY: screenshots browser services figures site-assets setup test lint typecheck pytest docs-build docs demo walkthrough bench bench-quick clean \
	test-django61 test-py312 test-py313 setup-django61 setup-py312 mutation

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "dualqueue needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP)

need_python = @test -n "$(1)" && test -x "$(1)" || { echo "make: Python $(2) not found: looked in $(PYENV_ROOT)/versions/$(2).*/bin \
	and for python$(2) on PATH; install it (pyenv install $(2)) or pass PY$(subst .,,$(2))=/path/to/python$(2)" >&2; exit 1; }

$(STAMP61): pyproject.toml
	$(call need_python,$(PY313),3.13)
	test -x $(VENV61)/bin/python || $(PY313) -m venv $(VENV61)
	$(VENV61)/bin/python -m pip install -q --upgrade pip
	@# What "pip install dualqueue[django]" gives on Python 3.12+: Django 6.1 and no backport
	@# (asked of pip's resolver, so that it holds on a re-run too: the way out's extras add the backport).
	$(VENV61)/bin/python -m pip install -q --dry-run --ignore-installed --report $(VENV61)/django-extra.json ".[django]"
	$(VENV61)/bin/python -c 'import json, sys; got = {i["metadata"]["name"].lower(): i["metadata"]["version"] \
	  for i in json.load(open(sys.argv[1]))["install"]}; assert got["django"].startswith("6.1"), got["django"]; \
	  assert "django-tasks" not in got, "the django extra must not install the backport on Django 6"' $(VENV61)/django-extra.json
	$(VENV61)/bin/python -m pip install -q -e ".[dev,django,ee,wayout,bench]"
	touch $(STAMP61)

$(STAMP312): pyproject.toml
	$(call need_python,$(PY312),3.12)
	test -x $(VENV312)/bin/python || $(PY312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install -q --upgrade pip
	$(VENV312)/bin/python -m pip install -q -e ".[dev,django,ee,wayout]"
	touch $(STAMP312)

setup-django61: $(STAMP61)
setup-py312: $(STAMP312)

# The browser test drives Debian's chromium (never a downloaded browser): install it once, as root
# (CI) or through passwordless sudo; elsewhere say what to run.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "make: chromium is missing; install it with: sudo apt-get install chromium" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# The way out's end-to-end tests and the broker benchmarks run Debian's PostgreSQL and redis-server
# (started on loopback by the tests themselves): install them once, as root or through sudo.
services:
	@{ test -x "$$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)" && command -v redis-server >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "make: postgresql or redis-server is missing; install them with: sudo apt-get install postgresql redis-server" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql redis-server; }

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict reference/dualqueue --exclude 'reference/dualqueue/django/'

pytest: $(STAMP) site-assets
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --fail-under=95

# What the site serves itself instead of loading from a CDN (mermaid, the theme's fonts): npm packages
# pinned by tools/site_assets/package-lock.json, installed with `npm ci` (once per lockfile change)
# and copied into docs/assets/vendor/ (ignored by git). After this step the build needs no network.
SITE_ASSETS := tools/site_assets
$(SITE_ASSETS)/node_modules/.installed-stamp: $(SITE_ASSETS)/package.json $(SITE_ASSETS)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "make: npm is missing; install it with: sudo apt-get install npm" >&2; exit 1; }
	npm ci --prefix $(SITE_ASSETS) --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

site-assets: $(STAMP) $(SITE_ASSETS)/node_modules/.installed-stamp
	@$(BIN)/python -m tools.site_assets.vendor >/dev/null

docs-build: $(STAMP) site-assets
	@if [ -f mkdocs.yml ]; then NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site; fi

# The second Django line: the adapter, the demo, the framework's own tests and the end-to-end suites
# (the way out on PostgreSQL and Redis among them) on Django 6.1 / Python 3.13.
test-django61: $(STAMP61) browser services
	$(VENV61)/bin/pytest -q $(DJANGO_SUITES) $(PYTEST_ARGS)

# The core on the newer Pythons (3.12.0-3.12.1 refuse new threads inside atexit hooks: tested here).
test-py312: $(STAMP312)
	$(VENV312)/bin/pytest -q $(CORE_SUITES) $(PYTEST_ARGS)

test-py313: $(STAMP61)
	$(VENV61)/bin/pytest -q $(CORE_SUITES) $(PYTEST_ARGS)

test: lint typecheck browser services pytest docs-build test-django61 test-py312 test-py313

walkthrough: $(STAMP)
	$(BIN)/python -m examples.walkthrough

# The Django ESG demo on its embedded defaults (SQLite, console email, Earth Engine dry run):
#   make demo                        runserver on http://127.0.0.1:8000/ (DJANGO_DEBUG=1)
#   make demo PORT=8080              another port
#   make demo DEMO_SERVER=gunicorn   gunicorn (gthread, 2 workers) with dualqueue's hooks, DEBUG off,
#                                    plain HTTP, a fresh DJANGO_SECRET_KEY unless one is set
# Every setting of reference/demo/demo/settings.py can come from the environment (DEMO_VAR_DIR,
# DATABASE_URL, EMAIL_HOST/EMAIL_PORT, GEE_PROJECT, DEMO_ADMIN_PASSWORD, DUALQUEUE_STATUS_TOKEN...).
PORT ?= 8000
DEMO_SERVER ?= runserver
DEMO_MANAGE := $(abspath $(BIN))/python reference/demo/manage.py

# The demo installs only what it needs (Django, gunicorn, Earth Engine's client), not the dev set.
DEMO_STAMP := $(VENV)/.demo-stamp
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "dualqueue needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -e ".[django,ee]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	@mkdir -p "$${DEMO_VAR_DIR:-reference/demo/var}"
	@export GEE_DRY_RUN_SECONDS="$${GEE_DRY_RUN_SECONDS:-3}"; \
	export DUALQUEUE_STATUS_TOKEN="$${DUALQUEUE_STATUS_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(18))')}"; \
	export DEMO_PUBLIC_URL="$${DEMO_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"; \
	if [ "$(DEMO_SERVER)" = runserver ]; then export DJANGO_DEBUG="$${DJANGO_DEBUG:-1}"; \
	else export DJANGO_HTTPS="$${DJANGO_HTTPS:-0}" \
	  DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}"; fi; \
	set -e; \
	$(DEMO_MANAGE) migrate --no-input -v 0; \
	$(DEMO_MANAGE) seed_demo; \
	echo ""; \
	echo "  ESG demo:       http://127.0.0.1:$(PORT)/   (log in with the staff user above)"; \
	echo "  status page:    http://127.0.0.1:$(PORT)/background-tasks/status/page/   (staff)"; \
	echo "  status JSON:    curl -H \"Authorization: Bearer $$DUALQUEUE_STATUS_TOKEN\" http://127.0.0.1:$(PORT)/background-tasks/status/"; \
	echo "  flood it:       $(BIN)/python reference/demo/manage.py flood_server --url http://127.0.0.1:$(PORT)/ --analyses 40"; \
	echo "                  (in another terminal: the status page and the site page show it live)"; \
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

# The Django guide's screenshots: the browser story against gunicorn with two workers saves one PNG
# per page state, then the manifest records what they were taken from (tests/docs checks it).
screenshots: $(STAMP) browser
	rm -f docs/guides/screenshots/*.png
	DUALQUEUE_SCREENSHOTS=docs/guides/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_demo_app_browser.py \
	  tests/e2e/test_progress_browser.py
	$(BIN)/python tools/screenshots.py

# The Django enqueue rows run on Django 6.1 (django-tasks-local needs it); the broker rows need redis-server.
bench: $(STAMP) $(STAMP61) services
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

docs: $(STAMP) site-assets
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) $(VENV61) $(VENV312) .site .coverage htmlcov docs/assets/vendor $(SITE_ASSETS)/node_modules

# Mutation testing of the core (mutmut 3 over reference/dualqueue, against tests/core). Slow (hours on
# 2 cores), not a CI gate: the summary is in docs/guides/testing-concurrency.md. MUTATION_ARGS passes
# options to tools/mutation.py, e.g. MUTATION_ARGS="--max-children 4".
mutation: $(STAMP)
	$(BIN)/python -m pip install -q "mutmut==3.8.1"
	$(BIN)/python tools/mutation.py $(MUTATION_ARGS)
