"""Apache Airflow provider for DailyBot (https://www.dailybot.com/).

Kept import-light on purpose: DAG files import the provider on every parse, so this
module defines only the version. Import hooks, operators and helpers from their modules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
