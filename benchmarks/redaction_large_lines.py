"""Redaction time for one 1 MB line of each hostile shape, on the logging thread.

Issue 12's goal: a 1 MB line of any shape takes under 0.5 s. The shapes are the ones that make
regex engines work hardest: digit groups (card candidates that fail Luhn), keyword-dense
assignments (the key layer's prefilter fires everywhere), long base64 and hex runs, e-mail-like
and URL-like runs, percent-encoding, unicode separators and zero-width characters, JSON in a
string, random printable text, and two shapes dense with distinct secrets, which no cache
helps: ``password=<value>`` pairs with values all different, and every catalogue detector's
examples with their digits and letters changed.

Columns: the engine as shipped (its time budget masks the rest of a line past 0.3 s, see
aibos_otel/redaction/longtext.py) and how much of the line it redacted before the budget
stopped it ("done"); the same engine without a budget (what the whole line costs); the
pure-``re`` engine; baselines in the same run: logfire's scrubber on the same line (when
installed), and ``str.translate`` over the line (a floor: one pass that touches every
character).

    .venv/bin/python benchmarks/redaction_large_lines.py [--size 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable

from aibos_otel.redaction import Redactor
from aibos_otel.redaction.catalogue import all_detectors

TARGET_S = 0.5


def shapes(size: int) -> dict[str, str]:
    rng = random.Random(1)

    def fill(unit: str) -> str:
        return (unit * (size // len(unit) + 1))[:size]

    printable = "".join(rng.choice(string.printable[:94] + " ") for _ in range(size))
    b64 = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(size))
    distinct = " ".join(
        f"password=v{rng.randrange(10**9)} token=w{rng.randrange(10**9)}" for _ in range(size // 30)
    )
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
        "distinct key values": distinct[:size],
        "catalogue, mutated": mutated_examples(size, rng),
    }


def mutated_examples(size: int, rng: random.Random) -> str:
    """Every detector's examples, again and again, each time with its digits and a third of
    its letters changed: a dump of many different secrets."""
    examples = [example for detector in all_detectors() for example in detector.examples]
    pieces: list[str] = []
    length = 0
    while length < size:
        example = rng.choice(examples)
        piece = "".join(_mutated(char, rng) for char in example)
        pieces.append(piece)
        length += len(piece) + 1
    return " ".join(pieces)[:size]


def _mutated(char: str, rng: random.Random) -> str:
    if char.isdigit():
        return rng.choice(string.digits)
    if char.isascii() and char.isalpha() and rng.random() < 0.3:
        return rng.choice(string.ascii_uppercase if char.isupper() else string.ascii_lowercase)
    return char


def best_of(runs: int, fn: Callable[[str], object], line: str) -> tuple[float, object]:
    """The fastest of ``runs`` calls, and what that call returned."""
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        returned = fn(line)
        took = time.perf_counter() - start
        if took < best:
            best, result = took, returned
    return best, result


def logfire_scrub() -> Callable[[str], object] | None:
    try:
        from logfire._internal.scrubbing import Scrubber
    except ImportError:
        return None
    scrubber = Scrubber(None)
    return lambda line: scrubber.scrub_value(("attributes", "message"), line)


def engines() -> dict[str, Callable[[str], object]]:
    found: dict[str, Callable[[str], object]] = {}
    for name, hyperscan, budget in (
        ("aibos (hyperscan)", True, True),
        ("no budget", True, False),
        ("aibos (re)", False, True),
    ):
        redactor = Redactor(use_hyperscan=hyperscan, **({} if budget else {"time_budget": None}))
        if redactor.scanner.wait_ready(300) and (not hyperscan or redactor.scanner.engine == "hyperscan"):
            found[name] = redactor.redact
    scrub = logfire_scrub()
    if scrub is not None:
        found["logfire scrubber"] = scrub
    table = str.maketrans("abc", "xyz")
    found["str.translate floor"] = lambda line: line.translate(table)
    return found


def done_share(result: object, length: int) -> str:
    """How much of the line was redacted before the time budget cut it."""
    cut = getattr(result, "cut", None)
    return "100%" if cut is None else f"{cut / length:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    found = engines()
    budgeted = [name for name in found if name.startswith("aibos")]
    header = "".join(f"{name:>21}" + (f"{'done':>6}" if name in budgeted else "") for name in found)
    print(f"{'shape':<22}" + header)
    worst: dict[str, float] = dict.fromkeys(found, 0.0)
    finished: dict[str, int] = dict.fromkeys(budgeted, 0)
    all_shapes = shapes(args.size)
    for shape, line in all_shapes.items():
        cells = []
        for name, fn in found.items():
            seconds, result = best_of(args.runs, fn, line)
            worst[name] = max(worst[name], seconds)
            cells.append(f"{seconds * 1000:>18.0f} ms")
            if name in budgeted:
                share = done_share(result, len(line))
                finished[name] += share == "100%"
                cells.append(f"{share:>6}")
        print(f"{shape:<22}" + "".join(cells), flush=True)
    print(
        f"{'worst':<22}"
        + "".join(
            f"{worst[name] * 1000:>18.0f} ms" + ("      " if name in budgeted else "") for name in found
        )
    )
    for name in budgeted:
        verdict = "meets" if worst[name] < TARGET_S else "MISSES"
        print(
            f"{name}: worst {worst[name]:.2f} s per {args.size} characters: {verdict} the {TARGET_S} s goal;"
            f" {finished[name]} of {len(all_shapes)} shapes redacted whole within the budget"
        )


if __name__ == "__main__":
    main()
