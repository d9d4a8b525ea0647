"""aibos_otel.lifecycle."""
