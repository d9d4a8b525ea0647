"""The canary record: one log record with a unique id and planted fake secrets.

It is sent as OTLP/HTTP JSON to the collector (the path services use), at WARN so the gateway's
monitor pipeline (WARN and above) forwards it too. Its service name is ``aibos-doctor``, so it
never mixes with a real service's error groups or rates, and every place it lands is searched
for its id. The planted secrets are fake but in the shapes both redaction lines know (an AWS
access key id in the body, a Luhn-valid test card number, a password under a secret-looking
attribute name): finding one raw anywhere means redaction is off on that path.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

CANARY_SERVICE = "aibos-doctor"
CANARY_ID_ATTRIBUTE = "aibos.doctor.canary_id"
WARN_SEVERITY_NUMBER = 13
_BASE32 = string.ascii_uppercase + "234567"


@dataclass(frozen=True)
class Canary:
    """One canary: its id and the secret values that must never be seen raw."""

    canary_id: str
    aws_key: str
    card: str
    password: str
    time_ns: int

    @property
    def body(self) -> str:
        """The record's body: the id and two planted secrets in prose."""
        return f"aibos doctor canary {self.canary_id}: uploading with key {self.aws_key} for card {self.card}"

    def planted(self) -> dict[str, str]:
        """Planted secret -> a name for it (what a report may print, never the value)."""
        return {
            self.aws_key: "aws-access-key-id",
            self.card: "credit-card",
            self.password: "password attribute",
        }

    def raw_secrets_in(self, text: str) -> list[str]:
        """The names of the planted secrets that appear unmasked in ``text``."""
        return sorted(name for value, name in self.planted().items() if value in text)

    def otlp_json(self) -> dict[str, Any]:
        """The ExportLogsServiceRequest, in OTLP/JSON."""
        return {
            "resourceLogs": [
                {
                    "resource": {"attributes": [_attr("service.name", CANARY_SERVICE)]},
                    "scopeLogs": [
                        {
                            "scope": {"name": "aibos_otel.doctor"},
                            "logRecords": [
                                {
                                    "timeUnixNano": str(self.time_ns),
                                    "observedTimeUnixNano": str(self.time_ns),
                                    "severityNumber": WARN_SEVERITY_NUMBER,
                                    "severityText": "WARN",
                                    "body": {"stringValue": self.body},
                                    "attributes": [
                                        _attr(CANARY_ID_ATTRIBUTE, self.canary_id),
                                        _attr("password", self.password),
                                    ],
                                }
                            ],
                        }
                    ],
                }
            ]
        }


def new_canary() -> Canary:
    """A canary with a fresh id and fresh fake secrets (never reused, so an old copy in a
    backend cannot pass for this run's)."""
    canary_id = secrets.token_hex(8)
    aws_key = "AKIA" + "".join(secrets.choice(_BASE32) for _ in range(16))
    password = "Doctor-" + secrets.token_urlsafe(12) + "!9"
    return Canary(canary_id, aws_key, _luhn_card(), password, time.time_ns())


def _luhn_card() -> str:
    """A random 16-digit Visa-range number with a valid Luhn check digit (a test number shape)."""
    digits = [4] + [secrets.randbelow(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        # the check digit will sit at position 0 from the right, so these start at position 1
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    return "".join(map(str, digits))


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}
