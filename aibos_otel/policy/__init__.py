"""aibos_otel.policy."""
