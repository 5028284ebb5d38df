"""``make demo``: the provider's main job, run end to end on a local Airflow and the fake DailyBot.

* :mod:`demo.processes` starts and stops the processes (Airflow components, the fake DailyBot),
  all on 127.0.0.1; the browser test reuses it.
* :mod:`demo.run_demo` is the demo itself: ``python -m demo --help``.
"""
