"""aibos_otel.redaction."""
