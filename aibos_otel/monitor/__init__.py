"""The aibos monitor: receives OTLP, derives alerts, error groups and metrics from it.

Nothing heavy is imported here: ``import aibos_otel.monitor`` costs nothing. The parts are
``receiver_grpc`` / ``receiver_http`` (OTLP in), ``ingest`` (decode and derive), ``rules``
(streaming LogQL-subset evaluation), ``alerts`` (lifecycle), ``notifiers`` and ``outbox``
(delivery), ``store`` (SQLite), ``metrics`` (``/metrics``), ``api`` (JSON API and page) and
``server`` (wires them together; ``aibos-otel up``).
"""
