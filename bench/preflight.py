"""One ``python -m ops preflight`` against the loopback world: requests per platform and wall time.

    venv/bin/python bench/preflight.py [--stack staging] [--runs 3]

The world (tests/ops/preflight_world.py) is the fakes of Railway, GitHub, Vercel and Checkly, a DNS server and
an SMTP server on 127.0.0.1, with the stack ready (workspace pinned, bypass declared, Checkly configured, a
notification rule); its start-up is not timed. Printed per run: the wall time of the checks, the requests each
fake received and how many of them asked for a change (must be 0), and the verdict counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ops.preflight import run_checks
from ops.preflight.context import Run
from ops.preflight.report import counts
from tests.ops.preflight_world import world
from tests.ops.test_preflight import ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="staging", choices=("staging", "production"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for index in range(args.runs):
        with world(args.stack) as w:
            cfg = ready(w)
            fakes = {"railway": w.railway, "github": w.github, "vercel": w.vercel, "checkly": w.checkly}
            received = {name: fake.mark() for name, fake in fakes.items()}
            run = Run.of(cfg, w.env)
            started = time.monotonic()
            checks = run_checks(run)
            elapsed = time.monotonic() - started
            got = Counter({name: len(fake.since(received[name])) for name, fake in fakes.items()})
            got["dns queries"] = len(w.dns.queries)
            got["smtp sessions"] = w.smtp_accounts.attempts and 1
            writes = sum(w.mutations().values())
            print(
                f"run {index + 1} ({args.stack}): {elapsed:.2f} s; requests "
                + ", ".join(f"{k} {v}" for k, v in sorted(got.items()))
                + f" (HTTP total {sum(v for k, v in got.items() if k in fakes)}); writes {writes}; {counts(checks)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
