"""Benchmarks of airflow-provider-dailybot against their floors and peers (``make bench``).

Each ``bench_*`` module runs on its own (``python -m benchmarks.bench_client``), prints Markdown tables
and writes ``benchmarks/results/<name>.json``; :mod:`benchmarks.run_all` runs them all in fresh
processes and writes a summary. Timings never go into the test suite: ``tests/e2e/test_benchmarks_smoke.py``
runs every benchmark in its ``--smoke`` mode and checks only correctness outputs.
"""
