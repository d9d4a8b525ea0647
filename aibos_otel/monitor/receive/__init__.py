"""Receive: the OTLP/gRPC and OTLP/HTTP receivers, the scan of each request, and the ingestor
that derives counts, rule samples, error events and log alerts from it (the first stage of
docs/architecture.md's picture). Imports only the monitor's ground floor (``monitor/*.py``)."""
