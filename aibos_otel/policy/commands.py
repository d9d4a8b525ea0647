"""``aibos-otel validate``: check a policy file (or the built-in default) and say what it holds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``validate``."""
    p = subparsers.add_parser("validate", help="check a policy file (aibos-otel.yaml)")
    p.add_argument(
        "policy", nargs="?", type=Path, help="policy file (default: ./aibos-otel.yaml, else built-in)"
    )
    p.add_argument("--print-default", action="store_true", help="print the built-in default policy and exit")
    p.set_defaults(func=validate)


def validate(args: argparse.Namespace) -> int:
    """Exit 0 when valid (warnings are printed), 1 with every error otherwise."""
    from aibos_otel.policy.logql import format_duration
    from aibos_otel.policy.model import PolicyError, default_policy_text, load_policy

    if args.print_default:
        sys.stdout.write(default_policy_text())
        return 0
    path: Path | None = args.policy
    if path is None and Path("aibos-otel.yaml").exists():
        path = Path("aibos-otel.yaml")
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        for issue in exc.issues:
            print(f"{exc.origin}: {issue}", file=sys.stderr)
        print(f"{exc.origin}: {len(exc.issues)} error(s)", file=sys.stderr)
        return 1
    for warning in policy.warnings:
        print(f"{policy.origin}: warning: {warning}", file=sys.stderr)
    enabled = [c.name for c in policy.channels.values() if c.enabled]
    disabled = [c.name for c in policy.channels.values() if not c.enabled]
    print(f"{policy.origin}: OK")
    print(f"  rules:    {', '.join(r.name for r in policy.rules) or 'none'}")
    print(
        f"  channels: {', '.join(enabled) or 'none'}"
        + (f" (disabled: {', '.join(disabled)})" if disabled else "")
    )
    if policy.retention_ns:
        print(
            "  retention: " + ", ".join(f"{k}={format_duration(v)}" for k, v in policy.retention_ns.items())
        )
    return 0
