# Benchmarks (benchmarks/): `make bench` prints the tables and writes benchmarks/results/ (git-ignored).
#
#   make bench          full run (about 15 minutes on 2 cores): client, DAG-parse, receiver, rotation
#   make bench-quick    fewer repetitions: a sanity run, not a measurement (about 3.5 minutes)
#   make bench-docs     full run, then the summary replaces the results block of docs/performance.rst (between
#                       its `.. bench:begin` / `.. bench:end` comment lines, as reStructuredText)
#
# PostgreSQL part of the receiver benchmark: DAILYBOT_BENCH_PG_DSN=postgresql+psycopg2://user@host/db (an
# existing database dedicated to the benchmark) or, when unset, a database created for the run on
# 127.0.0.1:5432 (user postgres) and dropped after; with neither, that part says it is skipped.
# BENCH_ARGS passes options to benchmarks/run_all.py, e.g. BENCH_ARGS="--only client,parse";
# `make bench-quick BENCH_ARGS="--only receiver"` checks the receiver harness in under 2 minutes.
#
# The receiver benchmark's peer, airflow-provider-inbound-webhooks (issue 13), pinned by hash in
# benchmarks/peer-requirements.txt, is installed into a folder of its own inside the venv (BENCH_PEER_DIR),
# not into its site-packages: there its plugin, provider info and cluster policy would load in every
# Airflow process the test suite starts. The benchmark puts the folder on the PYTHONPATH of its own
# Airflow processes only (DAILYBOT_BENCH_PEER_PATH).

BENCH_PACKAGES ?= -e ".[bench]"
BENCH_ARGS ?=
BENCH_DOCS ?= docs/performance.rst
BENCH_PEER_DIR ?= $(VENV)/bench-peer
BENCH_RUN := DAILYBOT_BENCH_PEER_PATH=$(abspath $(BENCH_PEER_DIR)) $(VENV)/bin/python -m benchmarks.run_all

.PHONY: bench bench-quick bench-docs

# The benchmarks' own dependencies (the peer HttpHook, run-time certificates, the PostgreSQL drivers the
# api-server needs), pinned by the constraints file where it lists them.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(VENV)/bin/python -m pip install $(PIP_QUIET) $(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS)) $(BENCH_PACKAGES)
	@touch $@

# --no-deps: its only dependency is apache-airflow, which the venv has (and must not change).
$(BENCH_PEER_DIR)/.installed: benchmarks/peer-requirements.txt $(VENV)/.installed
	$(VENV)/bin/python -m pip install $(PIP_QUIET) --no-deps --only-binary :all: --upgrade --target $(BENCH_PEER_DIR) \
		$(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS)) -r benchmarks/peer-requirements.txt
	@touch $@

BENCH_DEPS := install $(VENV)/.bench-installed $(BENCH_PEER_DIR)/.installed

bench: $(BENCH_DEPS)
	$(BENCH_RUN) $(BENCH_ARGS)

bench-quick: $(BENCH_DEPS)
	$(BENCH_RUN) --quick $(BENCH_ARGS)

bench-docs: $(BENCH_DEPS)
	$(BENCH_RUN) --docs $(BENCH_DOCS) $(BENCH_ARGS)
