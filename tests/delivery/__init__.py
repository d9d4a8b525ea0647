"""Tests of zero-code set-up, bridges, and delivery under overload, outage and kill."""
