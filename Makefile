# Set-up, run and test svcproc. `make run` and `make test` work on a fresh Debian 12 machine.
#
# Every install step is a file target (or a stamp inside an ignored directory), so a second
# `make install` only re-checks the Debian packages with dpkg and does nothing else.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

# The interpreter the virtualenv is created from (Debian's python3 on a fresh machine).
PYTHON ?= python3
VENV := .venv
PIP_STAMP := $(VENV)/.pip-installed

# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-x -k tender'.
PYTEST_ARGS ?=
POSTGRES_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

# Debian packages: venv support, Chromium for the browser tests, a CJK font and the
# Pango/HarfBuzz libraries WeasyPrint needs for Chinese PDFs, gettext for catalog work.
APT_PACKAGES := python3-venv chromium fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 \
                libharfbuzz-subset0 gettext redis-server
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

VENDOR_FILES := static/vendor/htmx.min.js static/vendor/axe.min.js

PO_FILES := $(wildcard svcproc/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help install system-packages run test test-postgres redis bench clean

help:
	@echo "make run            install everything, create the database, load demo data once, serve on http://127.0.0.1:5000"
	@echo "make test           install everything and run the whole test suite (SQLite unless TEST_DATABASE_URL is set)"
	@echo "make test-postgres  the same on PostgreSQL ($(POSTGRES_TEST_URL))"
	@echo "make install        only install (Debian packages, .venv, front-end files, compiled translations)"
	@echo "make bench          every benchmark at a small scale (BENCH_SCALE=district for the full district)"
	@echo "make clean          remove .venv and generated files (keeps instance/)"

install: system-packages $(PIP_STAMP) $(VENDOR_FILES) $(MO_FILES)

# Cheap enough to run every time (dpkg only); apt-get runs only when something is missing.
system-packages:
	@if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "dpkg not found: not a Debian system, install these yourself: $(APT_PACKAGES) nodejs npm" >&2; \
	  exit 0; \
	fi; \
	missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg -s "$$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$pkg"; \
	done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

$(VENV)/bin/python: | system-packages
	$(PYTHON) -m venv $(VENV)

$(PIP_STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -e '.[test]'
	touch $@

# npm runs in a temporary directory: static/ is served by Flask, so node_modules never lives there.
$(VENDOR_FILES) &: static/package.json static/package-lock.json | system-packages
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cp static/package.json static/package-lock.json "$$tmp/"; \
	(cd "$$tmp" && npm ci --include=dev --ignore-scripts --no-audit --no-fund); \
	mkdir -p static/vendor; \
	cp "$$tmp/node_modules/htmx.org/dist/htmx.min.js" static/vendor/htmx.min.js; \
	cp "$$tmp/node_modules/axe-core/axe.min.js" static/vendor/axe.min.js; \
	touch $(VENDOR_FILES)
	rm -rf static/node_modules

# pybabel skips a catalog whose header is still marked fuzzy and exits 0; fail instead.
svcproc/translations/%/LC_MESSAGES/messages.mo: svcproc/translations/%/LC_MESSAGES/messages.po | $(PIP_STAMP)
	rm -f $@
	$(VENV)/bin/pybabel compile -d svcproc/translations -l $*
	@test -f $@ || { echo "$< was not compiled: remove '#, fuzzy' from its header or fix the errors above" >&2; exit 1; }

run: install
	$(VENV)/bin/svcproc db upgrade
	$(VENV)/bin/svcproc demo --if-empty
	$(VENV)/bin/svcproc run --host 127.0.0.1 --port 5000

test: install redis
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: install redis
	TEST_DATABASE_URL='$(POSTGRES_TEST_URL)' $(VENV)/bin/pytest $(PYTEST_ARGS)

# The job-runner tests run jobs both in-process and on RQ: start a local Redis when none answers.
redis:
	@if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null; \
	  for _ in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done; \
	fi

# Every benchmark, at BENCH_SCALE (small unless set: `BENCH_SCALE=district make bench`); each prints
# its figures next to their goals and writes bench/results/<name>.json. A missed goal is reported,
# not an error: the figures are the result.
BENCHMARKS := pages api writes load import report portfolio audit storage ocds sweep
BENCH_SCALE ?= small

bench: install redis
	@for name in $(BENCHMARKS); do \
	  script=bench/$${name}_bench.py; \
	  [ -e "$$script" ] || continue; \
	  BENCH_SCALE=$(BENCH_SCALE) $(VENV)/bin/python "$$script" || exit $$?; \
	done

# instance/ (database, secret key, uploads) is data, not build output: clean leaves it alone.
clean:
	rm -rf $(VENV) static/vendor static/node_modules .pytest_cache build dist *.egg-info .install-stamp
	rm -f svcproc/translations/*/LC_MESSAGES/*.mo
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

# Refresh the message catalogs after adding or changing user-facing strings: extract every marked
# string into a temporary template, merge it into each catalog (new entries come in empty, never
# fuzzy-matched to old ones), copy the English source text into empty `en` entries and list the
# Chinese entries that still need a translation. Translate those in
# svcproc/translations/zh_Hans_CN/LC_MESSAGES/messages.po, then `make install` compiles the catalogs
# and `.venv/bin/pytest tests/test_translations.py` checks them.
# The Chinese catalog lives in zh_Hans_CN, not zh_CN: Flask-Babel parses the zh_CN locale into
# Babel's zh_Hans_CN and looks for a directory of that name. Keep BABEL_KEYWORDS in step with
# tests/test_translations.py.
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2
TRANSLATION_LOCALES := zh_Hans_CN en

define FILL_CATALOGS
from babel.messages.pofile import read_po, write_po
def load(locale):
    path = f"svcproc/translations/{locale}/LC_MESSAGES/messages.po"
    with open(path, "rb") as fh:
        return path, read_po(fh, locale=locale)
def empty(msg):
    strings = msg.string if isinstance(msg.string, (list, tuple)) else [msg.string]
    return not all(strings)
path, en = load("en")
for msg in en:
    if msg.id and empty(msg):
        msg.string = msg.id
with open(path, "wb") as fh:
    write_po(fh, en, width=76)
path, zh = load("zh_Hans_CN")
todo = [msg.id for msg in zh if msg.id and (empty(msg) or msg.fuzzy)]
print(f"{path}: {len(todo)} entries to translate" + "".join(f"\n  {m!r}" for m in todo))
endef
export FILL_CATALOGS

.PHONY: translations
translations: | $(PIP_STAMP)
	tmp=$$(mktemp --suffix=.pot); trap 'rm -f "$$tmp"' EXIT; \
	$(VENV)/bin/pybabel extract -F svcproc/babel.cfg $(BABEL_KEYWORDS) -c TRANSLATORS: \
	  --add-location=file --project=svcproc --ignore-dirs='.* ._ node_modules tests' -o "$$tmp" .; \
	for locale in $(TRANSLATION_LOCALES); do \
	  $(VENV)/bin/pybabel update -i "$$tmp" -d svcproc/translations -l "$$locale" \
	    --init-missing --no-fuzzy-matching; \
	done
	$(VENV)/bin/python -c "$$FILL_CATALOGS"
