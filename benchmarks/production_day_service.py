"""One service of ``production_day.py``: logs a realistic mix at a fixed rate through ``setup()``.

Run by the benchmark, not by hand::

    python benchmarks/production_day_service.py SERVICE ENDPOINT RATE SECONDS JOURNAL

Record ``n`` of service ``S`` has the id ``S-n`` (attribute ``test.record_id``) and a level fixed by
``n`` (:func:`level_of`), so the benchmark knows what was sent from the last ``n`` in the journal,
which the service rewrites every tick (a SIGKILL loses at most one tick of it). Every 50th record
carries a planted fake password and card number: the SDK must redact them.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

LEVELS = ("fatal", "error", "warn", "info")
PLANTED_PASSWORD = "Pl4nted-Secret-"
PLANTED_CARD = "4111 1111 1111 1111"
TICK_S = 0.01


def level_of(n: int) -> str:
    """The level of record ``n``: 1 % fatal, 4 % error, 10 % warn, 85 % info."""
    slot = n % 100
    return "fatal" if slot < 1 else "error" if slot < 5 else "warn" if slot < 15 else "info"


def has_secret(n: int) -> bool:
    """Does record ``n`` carry the planted secrets?"""
    return n % 50 == 7


def _emit(log: logging.Logger, service: str, n: int) -> None:
    rid = f"{service}-{n}"
    extra = {"test.record_id": rid, "order.id": n, "http.route": "/orders/{id}"}
    level = level_of(n)
    message = "order %s processed in %d ms"
    args: tuple[object, ...] = (rid, n % 250)
    if has_secret(n):
        message = "order %s charged card %s with password=%s"
        args = (rid, PLANTED_CARD, f"{PLANTED_PASSWORD}{n}x")
    if level == "fatal":
        log.fatal("worker crashed on order %s", rid, extra=extra)  # type: ignore[attr-defined]
    elif level == "error":
        try:
            raise ConnectionError("payment gateway timed out")
        except ConnectionError:
            log.exception("payment failed for order %s", rid, extra=extra)
    elif level == "warn":
        log.warning(message, *args, extra=extra)
    else:
        log.info(message, *args, extra=extra)


def main(argv: list[str]) -> int:
    service, endpoint, rate_text, seconds_text, journal_text = argv
    rate, seconds, journal = float(rate_text), float(seconds_text), Path(journal_text)
    import aibos_otel

    os.environ.setdefault("AIBOS_ENVIRONMENT", "production")
    handle = aibos_otel.setup(
        service_name=service, endpoint=endpoint, console=False, file_backup=False, spool=False
    )
    log = aibos_otel.get_logger("orders")
    start = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            _emit(log, service, sent)
            sent += 1
        journal.write_text(f"{sent}\n", encoding="utf-8")
        time.sleep(TICK_S)
    journal.write_text(f"{sent}\n", encoding="utf-8")
    ok = handle.force_flush(timeout_millis=60_000)
    handle.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
