"""The helpers every kind of test here needs: a free loopback port, polling for a condition, and a
metric read off a Prometheus endpoint.

Tests wait for conditions, never for fixed times: ``wait_for`` returns as soon as the predicate
holds, and its timeout is the generous upper bound on a slow, shared machine.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable

_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody was listening on a moment ago, and that this process
    has not handed out before: the kernel may give a port just released to the next ``bind(0)``,
    so two calls in a row (a collector takes seven) could otherwise return the same port."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with _handed_out_lock:
            if port not in _handed_out:
                _handed_out.add(port)
                return port


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds have passed; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def metric_sum(url: str, name: str, **labels: str) -> float:
    """Sum of the samples named ``name`` whose labels include ``labels``, scraped from ``url``
    (a Prometheus text endpoint); 0.0 when there is none."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )
