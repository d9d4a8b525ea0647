"""aibos_otel.monitor."""
