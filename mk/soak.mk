# `make soak`: the webhook receiver under load, on a real api-server with 2 workers and PostgreSQL
# (see docs/reliability.rst). First 100,000 recorded deliveries of the channel are stored directly in
# PostgreSQL (asset events + dailybot_delivery rows, server-side INSERT ... SELECT FROM generate_series);
# then 10,000 distinct deliveries + 1,000 replays + 500 unauthenticated requests at concurrency 32, the
# health endpoints polled throughout; exits 1 unless every delivery is recorded exactly once (one asset
# event, one delivery row), the prefilled rows are intact and a replay of one of them is a duplicate.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres; a fresh database is created and dropped).
# About 4 minutes on 2 cores. Figures: test-output/soak/figures.json.
#
#   make soak                                        the default run
#   make soak SOAK_ARGS="--deliveries 2000"          a shorter one
#   make soak SOAK_ARGS="--prefill 0"                on an empty table
#   make soak SOAK_ARGS="--dedupe-window 0"          the 0.1 backfill window (duplicates are detected regardless)

SOAK_ARGS ?=

.PHONY: soak

soak: install
	$(VENV)/bin/python -m tests.e2e.webhooks.soak_receiver $(SOAK_ARGS)
