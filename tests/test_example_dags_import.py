"""Every example DAG imports without errors; each file's parse time is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "dags_examples").glob("*.py"))


def _dagbag_class():
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.2+
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 3.1
    return DagBag


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_dag_file_imports_cleanly(path, report_figure):
    bag = _dagbag_class()(dag_folder=str(path))
    assert bag.import_errors == {}
    assert bag.dags, f"{path.name} defines no DAG"
    for dag in bag.dags.values():
        assert "example" in dag.tags
        assert "dailybot" in dag.tags
        assert dag.doc_md, f"{dag.dag_id} has no documentation"
    (stat,) = bag.dagbag_stats  # one file, one stat
    duration = stat.duration.total_seconds() if hasattr(stat.duration, "total_seconds") else float(stat.duration)
    report_figure(f"parse time of {path.name}: {duration * 1000:.1f} ms ({len(bag.dags)} DAG)")


def test_every_example_is_covered():
    names = {p.stem for p in EXAMPLES}
    assert {"dailybot_webhook_lifecycle", "dailybot_webhook_rotation", "dailybot_checkin_completed"} <= names
