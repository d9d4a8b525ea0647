"""Redaction time for one 1 MB line of each hostile shape, on the logging thread.

Issue 12's goal: a 1 MB line of any shape takes under 0.5 s. The shapes are the ones that make
regex engines work hardest: digit groups (card candidates that fail Luhn), keyword-dense
assignments (the key layer's prefilter fires everywhere), long base64 and hex runs, e-mail-like
and URL-like runs, percent-encoding, unicode separators and zero-width characters, JSON in a
string, and random printable text. Baseline in the same run: logfire's scrubber on the same
line (when installed), and ``str.translate`` over the line (a floor: one pass that touches
every character).

    .venv/bin/python benchmarks/redaction_large_lines.py [--size 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable

from aibos_otel.redaction import Redactor

TARGET_S = 0.5


def shapes(size: int) -> dict[str, str]:
    rng = random.Random(1)

    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    printable = "".join(rng.choice(string.printable[:94] + " ") for _ in range(size))
    b64 = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(size))
    return {
        "digit groups": fill("4111 1111 1111 1112 "),
        "digits": fill("0123456789"),
        "keyword dense": fill("password=x token=y "),
        "json in a string": fill('{\\"password\\": \\"x\\", \\"k\\": 1}, '),
        "base64 run": b64,
        "hex run": fill("deadbeef0123456789abcdef"),
        "email-like": fill("a.b@c.de "),
        "url userinfo-like": fill("postgres://u:p@h/ "),
        "percent-encoded": fill("%3D%2F%40%3A"),
        "unicode separators": fill("4111\u00a01111\u2009"),
        "zero-width": fill("sk_live_\u200babc"),
        "random printable": printable,
    }


def best_of(runs: int, fn: Callable[[str], object], line: str) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn(line)
        best = min(best, time.perf_counter() - start)
    return best


def logfire_scrub() -> Callable[[str], object] | None:
    try:
        from logfire._internal.scrubbing import Scrubber
    except ImportError:
        return None
    scrubber = Scrubber(None)
    return lambda line: scrubber.scrub_value(("attributes", "message"), line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    engines: dict[str, Callable[[str], object]] = {}
    for hyperscan in (True, False):
        redactor = Redactor(use_hyperscan=hyperscan)
        if redactor.scanner.wait_ready(300) and (not hyperscan or redactor.scanner.engine == "hyperscan"):
            engines["aibos (hyperscan)" if hyperscan else "aibos (re)"] = redactor.redact_text
    scrub = logfire_scrub()
    if scrub is not None:
        engines["logfire scrubber"] = scrub
    table = str.maketrans("abc", "xyz")
    engines["str.translate floor"] = lambda line: line.translate(table)
    print(f"{'shape':<20}" + "".join(f"{name:>22}" for name in engines))
    worst: dict[str, float] = dict.fromkeys(engines, 0.0)
    for shape, line in shapes(args.size).items():
        cells = []
        for name, fn in engines.items():
            seconds = best_of(args.runs, fn, line)
            worst[name] = max(worst[name], seconds)
            cells.append(f"{seconds * 1000:>19.0f} ms")
        print(f"{shape:<20}" + "".join(cells), flush=True)
    print(f"{'worst':<20}" + "".join(f"{worst[name] * 1000:>19.0f} ms" for name in engines))
    for name in engines:
        if name.startswith("aibos"):
            verdict = "meets" if worst[name] < TARGET_S else "MISSES"
            print(
                f"{name}: worst {worst[name]:.2f} s per {args.size} characters: {verdict} the {TARGET_S} s goal"
            )


if __name__ == "__main__":
    main()
