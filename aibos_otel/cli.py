"""The ``aibos-otel`` command.

Each sub-command lives in the package that owns it and is imported only when it runs, so
``aibos-otel --help`` stays fast and a broken optional area cannot break the others. A command
module exposes ``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable
taking the parsed ``argparse.Namespace`` and returning an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# (module that registers the commands) -- one line per area; order is the order in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "aibos_otel.sdk.commands",
    "aibos_otel.lifecycle.commands",
    "aibos_otel.redaction.commands",
    "aibos_otel.monitor.commands",
    "aibos_otel.policy.commands",
    "aibos_otel.doctor.commands",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    parser = argparse.ArgumentParser(
        prog="aibos-otel",
        description="OpenTelemetry-native logging: demo service, monitor, redaction, retention.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that area has no commands yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    code: int = func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
