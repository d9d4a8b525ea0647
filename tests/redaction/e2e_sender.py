"""A separate service process that logs secrets through ``aibos_otel.setup()`` (used by
test_e2e_otlp.py). Every secret it logs is listed in SECRETS so the test can look for them.

usage: python -m tests.redaction.e2e_sender ENDPOINT
"""

from __future__ import annotations

import logging
import sys

import aibos_otel

GITHUB = "ghp_" + "Zr8Kq2Lm5Np7Xw3Vb9Tc4Yd6Hf1Jg0Ss2Qa4"
AWS = "AKIA" + "QWERTYUIOPASDF23"
CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.org"
PASSWORD = "Tr0ub4dor&3-horse"
IBAN = "DE89 3704 0044 0532 0130 00"
SLACK = "xoxb-" + "123456789012-1234567890123-" + "aBcDeFgHiJkLmNoPqRsTuVwX"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
SECRETS = (GITHUB, AWS, CARD, EMAIL, PASSWORD, IBAN, SLACK, STRIPE)


def main() -> int:
    handle = aibos_otel.setup(
        service_name="redaction-e2e",
        endpoint=sys.argv[1],
        protocol="grpc",
        environment="staging",
        console=False,
        redaction=["secrets", "pci", "gdpr"],
    )
    log = logging.getLogger("shop.checkout")
    log.setLevel(logging.INFO)
    log.info("login by %s with token %s", EMAIL, GITHUB)
    log.info("payment", extra={"card": CARD, "user.password": PASSWORD, "note": f"iban {IBAN}"})
    log.warning(
        "vendor config",
        extra={"vendor": {"slack": {"token": SLACK}, "keys": [AWS, "plain"]}, "stripe": {"live": STRIPE}},
    )
    try:
        raise ValueError(f"charge failed for {EMAIL} using key {STRIPE}")
    except ValueError:
        log.exception("checkout crashed")
    try:
        secret_local = f"password={PASSWORD}"
        raise RuntimeError(f"connect failed: {secret_local} aws={AWS}")
    except RuntimeError:
        log.error("db down", exc_info=True)
    log.info("plain line without secrets")
    handle.force_flush()
    handle.shutdown()
    print("sent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
