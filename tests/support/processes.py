"""Starting the project's own commands as real processes in tests."""

from __future__ import annotations

import sys
from pathlib import Path


def aibos_up_argv(grpc_port: int, http_port: int, api_port: int, data_dir: Path) -> list[str]:
    """The command line of ``aibos-otel up`` on the given loopback ports and data directory."""
    return [
        sys.executable,
        "-m",
        "aibos_otel.cli",
        "up",
        "--grpc-port",
        str(grpc_port),
        "--http-port",
        str(http_port),
        "--api-port",
        str(api_port),
        "--data-dir",
        str(data_dir),
    ]
