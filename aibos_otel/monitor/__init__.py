"""The aibos monitor: receives OTLP, derives alerts, error groups and metrics from it.

Nothing heavy is imported here: ``import aibos_otel.monitor`` costs nothing. The folders follow
the flow of docs/architecture.md: ``receive/`` (OTLP in, the scan, the ingestor that derives
counts, rule samples, error events and log alerts) -> ``evaluate/`` (streaming LogQL-subset rules,
alert lifecycle, silences) -> ``notify/`` (durable outbox, channel senders); ``serve/`` (JSON API,
page, ``/metrics``, OTLP push of the monitor's metrics). The modules directly in this package are
the ground floor every stage may use (``store``, ``metrics``, ``labels``, ``otlp``, ``access``,
``httpserver``, ``http_body``, ``jsonlimits``, ``redact``, ``settings``); ``server`` wires the
stages together (``aibos-otel up``) and ``commands`` holds the CLI. tests/test_architecture.py
keeps the stages pointing one way.
"""
