"""Serve: the API port (JSON API, ``/metrics``, health, the page) and the optional OTLP push of
the monitor's own metrics. Reads the other stages; none of them imports it."""
