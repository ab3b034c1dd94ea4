"""Real-engine timings per stack: `pulumi preview` (from nothing) and a no-op `pulumi up`, median of runs,
plus the Railway requests each sends (from the fake's counters).

Runs the real CLI on the real program against the fake Railway API on 127.0.0.1 (Railway platform only,
like the rehearsal). Usage: venv/bin/python bench/engine.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.harness import engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS


def _timed(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bin_dir = engine_bin()
    print(f"{'stack':<11} {'operation':<26} {'median s':>8} {'min':>6} {'max':>6} {'requests':>8}")
    for name in ("staging", "production"):
        with (
            FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=2) as fake,
            tempfile.TemporaryDirectory() as tmp,
        ):
            stack = make_stack(Path(tmp), name, local_overrides(fake.url, ["railway"]), bin_dir=bin_dir)
            rows = {}
            fake.reset_counters()
            previews = [_timed(stack.preview) for _ in range(args.runs)]
            rows["preview (from nothing)"] = (previews, fake.count() // args.runs)
            fake.reset_counters()
            up_time = _timed(stack.up)
            rows["up (from nothing)"] = ([up_time], fake.count())
            fake.reset_counters()
            noops = [_timed(stack.up) for _ in range(args.runs)]
            rows["no-op up"] = (noops, fake.count() // args.runs)
            fake.reset_counters()
            refreshes = [_timed(stack.refresh) for _ in range(args.runs)]
            rows["refresh"] = (refreshes, fake.count() // args.runs)
            for operation, (times, requests) in rows.items():
                print(
                    f"{name:<11} {operation:<26} {statistics.median(times):>8.2f} {min(times):>6.2f} "
                    f"{max(times):>6.2f} {requests:>8}"
                )
            stack.destroy_deliberately()


if __name__ == "__main__":
    main()
