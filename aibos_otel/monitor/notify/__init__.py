"""Notify: the durable outbox of notifications and the channel senders (webhook, Slack,
PagerDuty, SMTP), with retries and rate limits. Knows nothing of rules or receivers."""
