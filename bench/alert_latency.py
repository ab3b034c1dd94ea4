"""How fast each alert mails, per stack: the worst case *as configured* (config/alerts.py), and what one
backend 5xx-rate poll really takes against the fake Railway (the part of that row we run ourselves).

The configured figures are sums of intervals the program declares — for the 5xx rate: window + time to the
next poll + retries (Checkly) or the schedule + step + mail job (the workflow). Platform queues and mail
delivery come on top and are not ours to measure. The measured figure is the wall time of
workflows/scripts/error_rate.py as CI runs it (a fresh ``python3`` process, one POST over loopback).

Usage: venv/bin/python bench/alert_latency.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import config  # noqa: E402
from config.alerts import alert_rules  # noqa: E402


def configured() -> None:
    print(f"{'stack':<11} {'worst case':>10}  trigger — how")
    for stack in config.STACKS:
        for rule in alert_rules(config.load_from_stack_file(stack)):
            latency = f"{rule.latency_seconds} s" if rule.latency_seconds is not None else "event"
            print(f"{stack:<11} {latency:>10}  {rule.trigger} — {rule.how}")


def measured_poll(runs: int) -> None:
    from tests.fakes.railway_api import FakeRailway
    from tests.workflows.test_error_rate import BEARER, _project_token

    script = REPO / "workflows" / "scripts" / "error_rate.py"
    with FakeRailway(token=BEARER) as fake:
        project = fake.seed_project("maya-staging", environment="staging")
        environment = fake.environment_id(project, "staging")
        service = fake.seed_service(project, "backend")
        for status, count in ((200, 9000), (500, 1200)):
            fake.seed_http_requests(service, environment, status, count, at=time.time() - 60)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "RAILWAY_METRICS_TOKEN": _project_token(fake, project, environment, "maya-staging-metrics"),
            "RAILWAY_SERVICE_ID": service,
            "RAILWAY_ENVIRONMENT_ID": environment,
            "RAILWAY_API_URL": fake.url,
        }
        times, code = [], None
        for _ in range(runs + 1):  # the first run warms the file cache and is not counted
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, str(script), "--threshold", "10", "--window", "15", "--min-requests", "20"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            times.append(time.perf_counter() - start)
            code = done.returncode
        times = times[1:]
    print(
        f"\none 5xx-rate poll (error_rate.py against the fake Railway, {runs} runs): min {min(times):.3f} s, "
        f"median {statistics.median(times):.3f} s, max {max(times):.3f} s; exit {code} (11.8% > 10%: alert)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    configured()
    measured_poll(args.runs)


if __name__ == "__main__":
    main()
