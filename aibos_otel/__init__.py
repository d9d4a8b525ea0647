"""aibos-otel: OpenTelemetry-native logging for Python services."""
