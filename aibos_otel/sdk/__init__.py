"""aibos_otel.sdk."""
