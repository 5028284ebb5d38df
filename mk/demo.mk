# `make demo`: the provider's main job end to end on a local Airflow 3.3.2 and the fake DailyBot, all on
# 127.0.0.1 (see docs/quickstart.rst). Creates .venv first if needed. Exits 0 only if every step succeeded.
#
#   make demo                                   built-in demo key for the fake DailyBot
#   make demo DEMO_ARGS="--keep-home ./demo-home"    keep AIRFLOW_HOME and every process's log
#   DAILYBOT_API_KEY=... make demo              also Test connection against the real DailyBot API
#
# Other options: `$(VENV)/bin/python -m demo --help`.

DEMO_ARGS ?=

.PHONY: demo

demo: install
	$(VENV)/bin/python -m demo $(DEMO_ARGS)
