"""A user's test suite, written only against the public ``aibos_otel.testing`` API.

tests/sdk/test_testing_fresh_venv.py copies it (as ``test_user.py``) into an empty directory and
runs it with pytest in a fresh virtual environment where the aibos-otel wheel is installed: no
conftest, no repository on the path, so the ``aibos_logs`` fixture comes from the ``pytest11``
entry point of the installed wheel.
"""

import logging
import re

import aibos_otel
from aibos_otel.testing import capture_logs

CARD = "4111 1111 1111 1111"


def test_capture_logs_gives_the_redacted_record_with_its_context_and_fingerprint() -> None:
    with capture_logs(service_name="shop") as records:
        log = aibos_otel.get_logger("shop.checkout")
        with aibos_otel.bind(request_id="r-42"):
            try:
                raise ValueError(f"card {CARD} declined")
            except ValueError:
                log.exception(f"payment failed for card {CARD}")
    [record] = [r for r in records if r["logger"] == "shop.checkout"]
    assert CARD not in repr(record)
    assert record["body"] == "payment failed for card [REDACTED:credit-card]"
    assert record["severity_text"] == "ERROR"
    assert record["attributes"]["request_id"] == "r-42"
    assert re.fullmatch(r"[0-9a-f]{32}", record["attributes"]["exception.fingerprint"])
    assert record["resource"]["service.name"] == "shop"


def test_the_fixture_comes_from_the_installed_plugin(aibos_logs: list[dict]) -> None:
    logging.getLogger("shop").warning("mail bob@example.com about order %d", 7)
    [record] = [r for r in aibos_logs if r["logger"] == "shop"]
    assert record["body"] == "mail [REDACTED:email] about order 7"
    assert record["severity_text"] == "WARN"
