"""Time to evaluate the whole program per stack under Pulumi mocks (import + construction), whole process.

Each run is a fresh interpreter (`python -c ...`), so imports are counted as a user would pay them.
Prints min / median / max wall seconds over --runs runs per stack.

Usage: venv/bin/python bench/program_eval.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SNIPPET = "from tests.components.program import run_program; run_program({stack!r})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"{'stack':<11} {'min':>6} {'median':>7} {'max':>6}   (seconds, {args.runs} runs, fresh process each)")
    for stack in ("staging", "production"):
        times = []
        for _ in range(args.runs + 1):  # the first run warms the file cache and is not counted
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", SNIPPET.format(stack=stack)], cwd=REPO, check=True, timeout=120)
            times.append(time.perf_counter() - start)
        counted = times[1:]
        print(f"{stack:<11} {min(counted):>6.2f} {statistics.median(counted):>7.2f} {max(counted):>6.2f}")


if __name__ == "__main__":
    main()
