"""Inputs tried and clean: run the bad-input fuzz test and print its counts.

    python -m bench.fuzz_count [--backends sqlite,postgresql,mariadb] [--examples 200]
                               [--random]

Runs tests/api/test_bad_input_fuzz.py with EVALLEDGER_FUZZ_REPORT set, then prints one line
per target and backend: inputs tried, clean (a success or a LedgerError that left the
ledger as it was; an unclean input fails the test), accepted and rejected. `--random` draws
new inputs (the suite's run is derandomized: the same inputs every time).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
TEST = ROOT / "tests" / "api" / "test_bad_input_fuzz.py"


def run(backends: str, examples: int, random: bool) -> tuple[int, list[dict]]:
    """Run the fuzz test; (pytest's exit status, the report lines)."""
    with tempfile.TemporaryDirectory(prefix="evalledger-fuzz-") as tmp:
        report = Path(tmp) / "report.jsonl"
        env = {
            **os.environ,
            "EVALLEDGER_TEST_BACKENDS": backends,
            "EVALLEDGER_FUZZ_EXAMPLES": str(examples),
            "EVALLEDGER_FUZZ_REPORT": str(report),
        }
        if random:
            env["EVALLEDGER_FUZZ_RANDOM"] = "1"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEST)],
            cwd=ROOT,
            env=env,
            check=False,
        )
        lines = report.read_bytes().splitlines() if report.exists() else []
        return done.returncode, [orjson.loads(line) for line in lines]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_count")
    parser.add_argument("--backends", default="sqlite,postgresql,mariadb")
    parser.add_argument("--examples", type=int, default=200, help="per target and backend")
    parser.add_argument("--random", action="store_true", help="new inputs, not the suite's")
    args = parser.parse_args()
    status, lines = run(args.backends, args.examples, args.random)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    print(
        f"{'target':<22} {'backend':<11} {'tried':>7} {'clean':>7} {'accepted':>9} {'rejected':>9}"
    )
    for line in lines:
        print(
            f"{line['target']:<22} {line['backend']:<11} {line['tried']:>7,} {line['clean']:>7,} "
            f"{line['accepted']:>9,} {line['rejected']:>9,}"
        )
        totals[line["backend"]][0] += line["tried"]
        totals[line["backend"]][1] += line["clean"]
    for backend, (tried, clean) in totals.items():
        print(f"{backend}: {tried:,} inputs tried, {clean:,} clean ({100 * clean / tried:.1f}%)")
    if status != 0:
        print("the fuzz test failed: an input was not clean (see pytest's output above)")
    return status


if __name__ == "__main__":
    sys.exit(main())
