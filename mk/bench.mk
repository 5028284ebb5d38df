# Benchmarks (benchmarks/): `make bench` prints the tables and writes benchmarks/results/ (git-ignored).
#
#   make bench          full run (4.5 to 6.5 minutes measured on 2 cores): client, DAG-parse, receiver, rotation
#   make bench-quick    fewer repetitions: a sanity run, not a measurement (about 2 minutes)
#   make bench-docs     full run, then the summary replaces the results block of README.md (between the bench:begin/end markers)
#
# PostgreSQL part of the receiver benchmark: DAILYBOT_BENCH_PG_DSN=postgresql+psycopg2://user@host/db (an
# existing database dedicated to the benchmark) or, when unset, a database created for the run on
# 127.0.0.1:5432 (user postgres) and dropped after; with neither, that part says it is skipped.
# BENCH_ARGS passes options to benchmarks/run_all.py, e.g. BENCH_ARGS="--only client,parse".

BENCH_PACKAGES ?= -e ".[bench]"
BENCH_ARGS ?=
BENCH_DOCS ?= README.md

.PHONY: bench bench-quick bench-docs

# The benchmarks' own dependencies (the peer HttpHook, run-time certificates, the PostgreSQL drivers the
# api-server needs), pinned by the constraints file where it lists them.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(VENV)/bin/python -m pip install $(PIP_QUIET) $(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS)) $(BENCH_PACKAGES)
	@touch $@

bench: install $(VENV)/.bench-installed
	$(VENV)/bin/python -m benchmarks.run_all $(BENCH_ARGS)

bench-quick: install $(VENV)/.bench-installed
	$(VENV)/bin/python -m benchmarks.run_all --quick $(BENCH_ARGS)

bench-docs: install $(VENV)/.bench-installed
	$(VENV)/bin/python -m benchmarks.run_all --docs $(BENCH_DOCS) $(BENCH_ARGS)
