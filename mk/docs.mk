# `make docs`: the Sphinx site in docs/ (conf.py, the pages, the API reference from the docstrings),
# built with every warning an error: -W --keep-going reports them all, then fails; -n (nitpicky) makes
# every unresolved internal reference (a renamed class, a stale :func: in a docstring) a warning, and a
# page missing from every toctree is one too. The build needs no network (no intersphinx). Output:
# docs/_build/html/index.html (git-ignored). `make test` runs it; tests/unit/docs/ checks the rest
# (runnable snippets, every page reachable, no dangling docs/... path).
#
#   make docs                          build into docs/_build/html
#   make docs DOCS_ARGS="-b linkcheck" another builder or more sphinx-build options (linkcheck needs network)
#   make docs-clean                    remove docs/_build

DOCS_ARGS ?=
DOCS_OUT := docs/_build

.PHONY: docs docs-clean

# AIRFLOW_HOME: autodoc imports the package, hence Airflow; keep its config out of the user's ~/airflow,
# and its INFO logs out of the build's output.
docs: install
	@mkdir -p $(DOCS_OUT)/airflow-home
	AIRFLOW_HOME=$(abspath $(DOCS_OUT)/airflow-home) AIRFLOW__CORE__LOAD_EXAMPLES=False \
		AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING \
		$(VENV)/bin/python -m sphinx -W --keep-going -n -q -b html $(DOCS_ARGS) docs $(DOCS_OUT)/html
	@echo "Docs: $(DOCS_OUT)/html/index.html"

docs-clean:
	rm -rf $(DOCS_OUT)
