"""Copy the collector configs and the default policy into the kustomize base (deploy/kubernetes/base/config/).

    python3 scripts/render_deploy.py           write the copies
    python3 scripts/render_deploy.py --check   exit 1 (naming the files) when a copy differs from its source

Why copies: kustomize refuses files outside its root (the load restrictor), and the way around it,
``kubectl kustomize --load-restrictor LoadRestrictionsNone``, is a flag that ``kubectl apply -k``,
Argo CD and Flux do not pass by default, so every consumer of the base would need to know it. Committed
copies keep ``kubectl apply -k deploy/kubernetes/overlays/production`` working as is; ``--check`` runs
in the tests (tests/deploy_manifests/), so a copy cannot drift from collector-config/ or the policy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "deploy" / "kubernetes" / "base" / "config"

# target file name -> source, relative to the repository root
SOURCES = {
    "agent.yaml": "collector-config/agent.yaml",
    "gateway.yaml": "collector-config/gateway.yaml",
    "gateway-monitor-token.yaml": "deploy/collector/gateway-monitor-token.yaml",
    "aibos-otel.yaml": "aibos_otel/policy/default.yaml",
}


def rendered(source: str) -> str:
    """The copy's text: a one-line header naming the source, then the source byte for byte."""
    text = (REPO / source).read_text(encoding="utf-8")
    return (
        f"# Copied from {source} by scripts/render_deploy.py; do not edit (edit the source, rerun).\n{text}"
    )


def stale() -> list[str]:
    """The copies that are missing or differ from their sources."""
    return [
        name
        for name, source in SOURCES.items()
        if not (TARGET / name).is_file() or (TARGET / name).read_text(encoding="utf-8") != rendered(source)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a copy is stale")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(
                f"stale: deploy/kubernetes/base/config/{name} (from {SOURCES[name]}); "
                "run scripts/render_deploy.py"
            )
        return 1 if names else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, source in SOURCES.items():
        (TARGET / name).write_text(rendered(source), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
