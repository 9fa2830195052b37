# dualqueue: every target sets itself up. On a fresh machine with Python 3.11 and make:
#   make demo   runs the main job (the Django ESG demo on its embedded defaults; see the demo target)
#   make test   sets up and runs the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,django,ee,docs,bench

.PHONY: screenshots browser figures site-assets setup test lint typecheck pytest docs-build docs demo walkthrough bench bench-quick clean

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

test: lint typecheck browser pytest docs-build

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
	DUALQUEUE_SCREENSHOTS=docs/guides/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_demo_app_browser.py
	$(BIN)/python tools/screenshots.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

docs: $(STAMP) site-assets
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) .site .coverage htmlcov docs/assets/vendor $(SITE_ASSETS)/node_modules
