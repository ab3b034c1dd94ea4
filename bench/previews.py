"""Pull-request previews (docs/previews.md) against the fake Railway, Vercel and GitHub on 127.0.0.1.

1. One preview: Railway requests and wall time to bring it up (fork, preview-safe variables, idle sleep,
   domain, database + backend deploys, waiting for them) and to tear it down; a push to it.
2. 20 pull requests opened at once, each run in its own thread like 20 workflow runs, against Railway's
   Hobby limit of 1,000 requests per hour (the fake answers 429 beyond it): do all converge, how many
   requests were refused, how many were sent in all.

The fake finishes a deployment on its Nth status poll (N = --deploy-polls, default 3); the script polls
without sleeping here (--poll 0), so the counts are those of a real run with N polls per deployment.

Usage: venv/bin/python bench/previews.py [--deploy-polls N] [--prs 20]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.workflows.preview_world import World, world
from workflows.scripts import pr_preview as pp

HOBBY_PER_HOUR = 1000
SHAPE = {"withhold": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"), "fresh": ("JWT_SECRET_KEY",)}


def _target(w: World, cap: int) -> pp.Target:
    return pp.Target(w.project_id, w.staging_id, w.backend_id, max_environments=cap, **SHAPE)  # type: ignore[arg-type]


def one_preview(polls: int) -> None:
    with world(deploy_polls=polls) as w:
        target = _target(w, 5)
        for label, action in (
            (
                "bring up (PR opened)",
                lambda: pp.up(w.clients(), target, 1, "feat/a", "a" * 40, "o/r", timeout=60, poll=0),
            ),
            (
                "push (PR synchronize)",
                lambda: pp.up(w.clients(), target, 1, "feat/a", "b" * 40, "o/r", timeout=60, poll=0),
            ),
            ("tear down (PR closed)", lambda: pp.down(w.clients(), target, 1, "feat/a")),
        ):
            w.railway.reset_counters()
            started = time.perf_counter()
            report = action()
            elapsed = time.perf_counter() - started
            writes = w.railway.count(mutations_only=True)
            state = report.backend_status or report.note[:40]
            requests = w.railway.count()
            print(f"  {label:<22} {requests:>4} Railway requests ({writes} writes) {elapsed * 1000:>7.0f} ms  {state}")


def burst(prs: int, polls: int) -> bool:
    with world(request_budget=HOBBY_PER_HOUR, deploy_polls=polls) as w:
        target = _target(w, max(prs, 1))
        reports: dict[int, pp.Report] = {}
        errors: list[str] = []

        def run(pr: int) -> None:
            try:
                reports[pr] = pp.up(w.clients(), target, pr, f"feat/{pr}", f"{pr:040x}", "o/r", timeout=120, poll=0)
            except pp.PreviewError as error:
                errors.append(f"#{pr}: {error}")

        started = time.perf_counter()
        threads = [threading.Thread(target=run, args=(pr,)) for pr in range(1, prs + 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        elapsed = time.perf_counter() - started
        converged = sum(1 for r in reports.values() if r.backend_status == "SUCCESS" and r.backend_url)
        envs = len(w.environments())
        total = w.railway.count()
        refused = w.railway.refused_over_budget
        print(
            f"  {prs} PRs at once: {converged}/{prs} converged, {envs} environments, {refused} requests refused (429),"
        )
        print(
            f"  {total} Railway requests in all ({total / prs:.1f} per PR; budget {HOBBY_PER_HOUR}/h), {elapsed:.1f} s"
        )
        for error in errors:
            print(f"  error {error}")
        return converged == prs and refused == 0 and not errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deploy-polls", type=int, default=3)
    parser.add_argument("--prs", type=int, default=20)
    args = parser.parse_args()
    print(f"one preview (deployments finish on poll {args.deploy_polls}):")
    one_preview(args.deploy_polls)
    print("burst:")
    return 0 if burst(args.prs, args.deploy_polls) else 1


if __name__ == "__main__":
    sys.exit(main())
