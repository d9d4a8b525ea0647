"""A separate service process that logs through the aibos SDK to a monitor (used by the tests).

usage: python -m tests.monitor.sdk_sender ENDPOINT PROTOCOL
"""

from __future__ import annotations

import sys

import aibos_otel


def main() -> int:
    endpoint, protocol = sys.argv[1], sys.argv[2]
    handle = aibos_otel.setup(
        service_name="sdk-shop", environment="staging", endpoint=endpoint, protocol=protocol, console=False
    )
    log = aibos_otel.get_logger("shop.checkout")
    for i in range(5):
        log.info("order %d placed", i)
    with aibos_otel.bind(request_id="r-42"):
        try:
            {}["missing"]  # a real KeyError with a real stack
        except KeyError:
            log.exception("lookup failed")
    log.fatal("disk full on /var")
    log.error(
        "payment provider down",
        extra={"alert": {"severity": "critical", "channels": ["hook"], "escalation": "immediate"}},
    )
    handle.shutdown()
    print("sent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
