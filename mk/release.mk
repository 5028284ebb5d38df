# Release packaging: build and check the sdist and wheel; check a release tag.
#
#   make dist               sdist + wheel into dist/ (python -m build --no-isolation: the venv's hatchling), then
#                           twine check --strict on both
#   make check-dist         the clean-install check (tests/e2e/packaging): build, twine check, install the wheel
#                           into a fresh venv with apache-airflow==3.3.2 and the constraints file, then
#                           `airflow providers list` and an example DAG from the wheel against the fake DailyBot
#   make check-release TAG=v0.1.0   the tag is v<__version__> and CHANGELOG.md has a dated section for it
#                           (scripts/check_release_version.py; in CI it reads $GITHUB_REF_NAME)

.PHONY: dist check-dist check-release

dist: install
	rm -rf dist
	$(VENV)/bin/python -m build --no-isolation --outdir dist .
	$(VENV)/bin/python -m twine check --strict dist/*

check-dist: install
	$(VENV)/bin/python -m pytest tests/e2e/packaging -n 0 $(PYTEST_ARGS)

check-release:
	$(PYTHON) scripts/check_release_version.py $(TAG)
