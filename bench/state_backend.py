"""The PostgreSQL state backend against file://, same run, same machine: `pulumi up` from nothing and a
no-op `pulumi up` per stack, each backend with its own fake Railway API (127.0.0.1) and temp project.

The PostgreSQL server is a real one (tests/engine/postgres.py: Debian's package, started on 127.0.0.1 and
stopped at the end). Every state write of the engine (checkpoints, the per-update lock, history) is a row
written over TCP instead of a file, which is what the ratio measures.

Each stack is measured in ``--rounds`` rounds that alternate which backend goes first (the first `up` of a
process pays for cold caches), and the table shows the median over rounds; on a shared machine the spread
between rounds is printed too, to read the ratio against.

Usage: venv/bin/python bench/state_backend.py [--rounds 2] [--runs 3] [--stack staging] [--stack production]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.harness import engine_bin, local_overrides, make_stack
from tests.engine.postgres import PostgresServer
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(name: str, backend_url: str | None, runs: int, bin_dir: Path) -> dict[str, float]:
    """Seconds of one `up` from nothing and the median of ``runs`` no-op `up`s; the stack is destroyed after."""
    with (
        FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=2) as fake,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stack = make_stack(
            Path(tmp), name, local_overrides(fake.url, ["railway"]), bin_dir=bin_dir, backend_url=backend_url
        )
        first = _timed(stack.up)
        noops = [_timed(stack.up) for _ in range(runs)]
        stack.destroy_deliberately()
        return {"up": first, "no-op up": statistics.median(noops)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="no-op ups per stack and backend (median)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per stack, alternating which backend is first")
    parser.add_argument("--stack", action="append", choices=["staging", "production"])
    args = parser.parse_args()
    bin_dir = engine_bin()
    stacks = args.stack or ["staging", "production"]
    print(f"{'stack':<11} {'operation':<10} {'file:// s':>9} {'postgres s':>10} {'ratio':>6}  rounds (file/postgres)")
    with PostgresServer() as postgres:
        for name in stacks:
            seen: dict[str, list[dict[str, float]]] = {"file": [], "postgres": []}
            for round_ in range(args.rounds):
                order = ["file", "postgres"] if round_ % 2 == 0 else ["postgres", "file"]
                for backend in order:
                    url = postgres.url() if backend == "postgres" else None
                    seen[backend].append(measure(name, url, args.runs, bin_dir))
            for operation in ("up", "no-op up"):
                a = statistics.median(r[operation] for r in seen["file"])
                b = statistics.median(r[operation] for r in seen["postgres"])
                spread = " ".join(
                    f"{f[operation]:.1f}/{p[operation]:.1f}"
                    for f, p in zip(seen["file"], seen["postgres"], strict=True)
                )
                print(f"{name:<11} {operation:<10} {a:>9.2f} {b:>10.2f} {b / a:>6.2f}  {spread}", flush=True)


if __name__ == "__main__":
    main()
