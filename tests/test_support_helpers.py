"""tests/support/helpers.py: the port helper must never hand out one port twice.

A collector under test takes seven ports from free_port() in a row; the kernel may give a port
that was just released to the next bind(0), and a gateway then failed to start with "address
already in use" (health_check and pprof on one port, seen in CI on 2026-12-07).
"""

from __future__ import annotations

import socket

from tests.support.helpers import free_port


def test_free_port_never_repeats_a_port_within_the_process() -> None:
    ports = [free_port() for _ in range(500)]
    assert len(set(ports)) == len(ports)
    for port in ports[-5:]:
        with socket.socket() as s:  # and each is still free to bind
            s.bind(("127.0.0.1", port))
