"""``aibos-otel validate`` and ``aibos-otel render``: check a policy file, or render it for Loki's
ruler and Alertmanager."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aibos_otel.policy.model import Policy

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def register(subparsers: Any) -> None:
    """Add ``validate`` and ``render``."""
    p = subparsers.add_parser("validate", help="check a policy file (aibos-otel.yaml)")
    p.add_argument(
        "policy", nargs="?", type=Path, help="policy file (default: ./aibos-otel.yaml, else built-in)"
    )
    p.add_argument("--print-default", action="store_true", help="print the built-in default policy and exit")
    p.set_defaults(func=validate)

    r = subparsers.add_parser(
        "render",
        help="render the policy as a Loki ruler rule file or an Alertmanager config",
        description="Render the policy's rules for Loki's ruler, or its channels and routes for "
        "Alertmanager. What does not map is listed on stderr and in a comment in the output.",
    )
    targets = r.add_subparsers(dest="target", metavar="TARGET", required=True)
    loki = targets.add_parser("loki-rules", help="Loki ruler rule file (Prometheus rule groups, LogQL)")
    _common_options(loki, "the rule file, or the ruler's rules directory: then DIR/TENANT/NAMESPACE.yaml")
    loki.add_argument(
        "--namespace", default="aibos-otel", help="rule namespace = file name (default: aibos-otel)"
    )
    loki.add_argument(
        "--tenant", default="fake", help="tenant directory when -o is a directory (default: fake)"
    )
    loki.set_defaults(func=render_loki_rules)
    am = targets.add_parser("alertmanager", help="Alertmanager 0.25 config (alertmanager.yml)")
    _common_options(am, "the config file, written with mode 0600 (it holds the channels' secrets)")
    am.set_defaults(func=render_alertmanager)


def _common_options(parser: argparse.ArgumentParser, output_help: str) -> None:
    parser.add_argument("--policy", type=Path, help="policy file (default: ./aibos-otel.yaml, else built-in)")
    parser.add_argument("-o", "--output", type=Path, help=f"write {output_help} (default: stdout)")


def _load(path: Path | None) -> Policy | None:
    """The policy (``./aibos-otel.yaml`` or the built-in default when ``path`` is ``None``);
    ``None`` after printing every error."""
    from aibos_otel.policy.model import PolicyError, load_policy

    if path is None and Path("aibos-otel.yaml").exists():
        path = Path("aibos-otel.yaml")
    try:
        return load_policy(path)
    except PolicyError as exc:
        for issue in exc.issues:
            print(f"{exc.origin}: {issue}", file=sys.stderr)
        print(f"{exc.origin}: {len(exc.issues)} error(s)", file=sys.stderr)
        return None


def validate(args: argparse.Namespace) -> int:
    """Exit 0 when valid (warnings are printed), 1 with every error otherwise."""
    from aibos_otel.policy.logql import format_duration
    from aibos_otel.policy.model import default_policy_text

    if args.print_default:
        sys.stdout.write(default_policy_text())
        return 0
    policy = _load(args.policy)
    if policy is None:
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


def render_loki_rules(args: argparse.Namespace) -> int:
    """Print or write the Loki ruler rule file; exit 1 on policy errors, 2 on bad names."""
    from aibos_otel.policy.render import loki_rules

    for option, value in (("--namespace", args.namespace), ("--tenant", args.tenant)):
        if not _FILE_NAME.match(value):
            print(
                f"aibos-otel render: {option} {value!r}: use letters, digits, '.', '_' and '-'",
                file=sys.stderr,
            )
            return 2
    policy = _load(args.policy)
    if policy is None:
        return 1
    rendered = loki_rules(policy, args.namespace, args.tenant)
    output: Path | None = args.output
    if output is not None and output.is_dir():
        output = output / args.tenant / f"{args.namespace}.yaml"
        output.parent.mkdir(exist_ok=True)
    return _emit(rendered.text(), rendered.notes, output, 0o644)


def render_alertmanager(args: argparse.Namespace) -> int:
    """Print or write (mode 0600) the Alertmanager config; exit 1 on policy errors."""
    from aibos_otel.policy.render import alertmanager_config

    policy = _load(args.policy)
    if policy is None:
        return 1
    rendered = alertmanager_config(policy)  # its notes name the disabled channels
    return _emit(rendered.text(), rendered.notes, args.output, 0o600)


def _emit(text: str, notes: tuple[str, ...], output: Path | None, mode: int) -> int:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        _write_atomically(output, text, mode)
    except OSError as exc:
        print(f"aibos-otel render: cannot write {output}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {output}")
    return 0


def _write_atomically(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` with ``mode`` from the first byte on, replacing it in one step:
    Loki and Alertmanager re-read their files and must never see half of one, and a secret
    must never sit in a world-readable file, not even briefly."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
