# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYBABEL := $(VENV)/bin/pybabel

.PHONY: run test test-sqlite lint bench translations extract-messages clean help

help:
	@echo "make run    - start the portal with the WeChat sandbox (SQLite, in-process jobs)"
	@echo "make test   - install test services and run the whole suite on SQLite and MariaDB"
	@echo "make bench  - run the benchmarks and print figures"

$(VENV)/.installed: requirements.txt
	@bash tests/scripts/ensure-system-packages.sh build
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed tests/requirements.txt
	$(PIP) install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

translations: $(VENV)/.installed
	@$(PYBABEL) compile -d portal/translations -f 2>&1 | grep -v "^compiling" || true

extract-messages: $(VENV)/.installed
	$(PYBABEL) extract -F portal/translations/babel.cfg -k _l -o portal/translations/messages.pot portal
	$(PYBABEL) update -q -N -i portal/translations/messages.pot -d portal/translations

run: $(VENV)/.installed translations
	PORTAL_ENV=development $(PY) -m portal.devrun

test: $(VENV)/.installed-test translations
	@bash tests/scripts/run-all.sh

test-sqlite: $(VENV)/.installed-test translations
	$(VENV)/bin/pytest -q

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test translations
	@bash tests/scripts/run-all.sh --bench

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
