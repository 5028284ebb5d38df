"""The delivery log: DailyBot deliveries for people, in the Airflow UI and as JSON.

* :mod:`.access`: who may read it (Airflow login, read on assets).
* :mod:`.filters`: the filters (channel, event, outcome, time range, keyset page), shared with the CLI.
* :mod:`.views`: rows and payloads read from the delivery table.
* :mod:`.render`: the escaped HTML; :mod:`.responses`: security headers and DB reads.
* :mod:`.api` (``/dailybot/api/...``), :mod:`.page` (``/dailybot/ui/...``), :mod:`.router` (both).

The plugin (:mod:`airflow_provider_dailybot.webhooks.plugin`) adds the page to the UI's Browse menu.
"""
