"""A service process that raises real exceptions and logs them through the aibos SDK (tests).

usage: python -m tests.monitor.sdk_error_sender ENDPOINT RELEASE KIND COUNT
KIND: bug (KeyError), flaky (ValueError), timeout (TimeoutError), operational (a class named
OperationalError); each occurrence carries ``enduser.id``.
"""

from __future__ import annotations

import sys

import aibos_otel


class OperationalError(Exception):
    """Stands for a database driver's error class."""


def _raise(kind: str) -> None:
    if kind == "bug":
        {}["sku"]
    elif kind == "flaky":
        int("not a number")
    elif kind == "timeout":
        raise TimeoutError("db timeout after 5s")
    else:
        raise OperationalError("db timeout: server closed the connection")


def main() -> int:
    endpoint, release, kind, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    handle = aibos_otel.setup(
        service_name="sdk-shop",
        service_version=release,
        environment="staging",
        endpoint=endpoint,
        protocol="grpc",
        console=False,
    )
    log = aibos_otel.get_logger("shop.orders")
    for i in range(count):
        try:
            _raise(kind)
        except Exception:
            log.exception("order failed", extra={"enduser": {"id": f"user-{i % 7}"}})
    handle.shutdown()
    print("sent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
