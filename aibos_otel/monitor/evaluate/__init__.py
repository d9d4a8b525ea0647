"""Evaluate: the rule engine (LogQL subset over sliding windows), the alert lifecycle and
silences. Takes what ``receive`` derived; hands notifications to ``notify``'s outbox."""
