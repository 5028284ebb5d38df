# airflow-provider-dailybot — developer commands. `make test` is the test command (CI runs it).
#
#   make install        .venv with Airflow 3.3.2 (the main line) + this package, editable
#   make install-floor  .venv-airflow-3.1 with Airflow 3.1.8 (the oldest supported)
#   make test           lint (ruff, mypy) + docs build + the whole suite on 3.3.2, then again on 3.1.8 (what CI runs)
#   make test-fast      unit + integration tests on 3.3.2, no e2e (no real Airflow processes, no browser), no lint
#   make test-main      the whole suite on 3.3.2 only
#   make test-floor     the whole suite on 3.1.8 only
#   make lint           ruff + mypy
#   make docs           the Sphinx site, warnings as errors, into docs/_build/html (mk/docs.mk)
#   make fake-dailybot  run the fake DailyBot server on 127.0.0.1:8765
#   make demo           end-to-end demo on a real Airflow (mk/demo.mk)
#   make bench          benchmarks; bench-quick, bench-docs (mk/bench.mk)
#   make soak           10,000-delivery load test of the receiver (mk/soak.mk)
#   make dist           build and twine-check the sdist and wheel; check-dist, check-release (mk/release.mk)
#
# Installs are pinned by the committed constraints/ files so CI is reproducible; refresh them
# with `make constraints` after changing dependencies.
#
# The suite runs on PYTEST_WORKERS pytest-xdist workers (default 2: the machines have 2 cores, and a
# third worker was slower). Each worker is its own process with its own AIRFLOW_HOME and sqlite DB.
# PYTEST_WORKERS=0 runs in one process; PYTEST_ARGS passes more options, e.g.
#   make test-fast PYTEST_ARGS="tests/unit/hooks -x"

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')

AIRFLOW_VERSION := 3.3.2
AIRFLOW_FLOOR_VERSION := 3.1.8
VENV := .venv
VENV_FLOOR := .venv-airflow-3.1
CONSTRAINTS := constraints/airflow-$(AIRFLOW_VERSION)-py$(PYVER).txt
CONSTRAINTS_FLOOR := constraints/airflow-$(AIRFLOW_FLOOR_VERSION)-py$(PYVER).txt
PIP_QUIET := --quiet --disable-pip-version-check
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
# One test at a time to whichever worker is free, the e2e tests first (tests/conftest.py): the long
# ones start early and the short ones fill in around them.
PYTEST_XDIST := -n $(PYTEST_WORKERS) $(if $(filter-out 0,$(PYTEST_WORKERS)),--dist load --maxschedchunk 1)

.PHONY: install install-floor test test-fast test-main test-floor lint fake-dailybot constraints clean

install: $(VENV)/.installed
install-floor: $(VENV_FLOOR)/.installed

# $(call make_venv,<venv>,<airflow version>,<constraints file>)
define make_venv
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	@$(1)/bin/python -m pip install $(PIP_QUIET) --upgrade "pip>=24"
	@if [ -f $(3) ]; then \
		echo "Installing Airflow $(2) into $(1) (pinned by $(3))"; \
		$(1)/bin/python -m pip install $(PIP_QUIET) -c $(3) "apache-airflow==$(2)" -e ".[test,docs]"; \
	else \
		echo "WARNING: no $(3) for Python $(PYVER); installing unpinned"; \
		$(1)/bin/python -m pip install $(PIP_QUIET) "apache-airflow==$(2)" -e ".[test,docs]"; \
	fi
	@touch $(1)/.installed
endef

$(VENV)/.installed: pyproject.toml $(wildcard $(CONSTRAINTS))
	$(call make_venv,$(VENV),$(AIRFLOW_VERSION),$(CONSTRAINTS))

$(VENV_FLOOR)/.installed: pyproject.toml $(wildcard $(CONSTRAINTS_FLOOR))
	$(call make_venv,$(VENV_FLOOR),$(AIRFLOW_FLOOR_VERSION),$(CONSTRAINTS_FLOOR))

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-fast: install
	$(VENV)/bin/python -m pytest -m "not e2e" $(PYTEST_XDIST) $(PYTEST_ARGS)

test-main: install
	$(VENV)/bin/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test-floor: install-floor
	$(VENV_FLOOR)/bin/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test: lint docs test-main test-floor

fake-dailybot: install
	$(VENV)/bin/python -m airflow_provider_dailybot.testing --host 127.0.0.1 --port 8765

constraints: install install-floor
	$(VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > $(CONSTRAINTS)
	$(VENV_FLOOR)/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > $(CONSTRAINTS_FLOOR)

clean:
	rm -rf $(VENV) $(VENV_FLOOR) test-output .pytest_cache .mypy_cache .ruff_cache

# Feature-specific targets (docs, demo, benchmarks, soak) live in mk/*.mk.
-include $(sort $(wildcard mk/*.mk))
