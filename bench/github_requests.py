"""GitHub requests per step of the GitHub half on the real engine, and the rehearsal's cost of GitHub.

1. Production's stack — the only one that writes GitHub: it declares its own half and staging's, from the
   hand-off of a staging stack run beside it (docs/trust.md) — on the real engine with the GitHub provider
   plugin scripts/provide-plugins.sh builds, against the fake GitHub (tests/fakes/github/): requests (and
   writes) for create from nothing, a no-op `up`, one secret changed, `refresh`, and `destroy`; with how many
   failed validation against GitHub's OpenAPI description, and how many carried a listed, known deviation
   (openapi.KNOWN_DEVIATIONS).
2. The local rehearsal (scripts/rehearse.py, both stacks, preview + up + destroy), warm (engine, plugin
   and description cached), timed without GitHub and with it in the same run; prints the ratio.

Usage: venv/bin/python bench/github_requests.py [--skip-rehearsal]
(scripts/rehearse.sh's environment: MAYA_ENGINE_BIN, MAYA_GITHUB_PLUGIN, MAYA_GITHUB_OPENAPI_DIR are
looked up by the same scripts when unset.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.github_world import (
    fake_github,
    github_overrides,
    github_plugin_dir,
    hand_off,
    staging_handing_off,
    use_plugin,
)
from tests.engine.harness import engine_bin, make_stack
from tests.fakes.github import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS

REPO = Path(__file__).resolve().parent.parent


def _row(stack: str, step: str, fake: FakeGitHub, mark: int, seconds: float) -> str:
    requests = fake.since(mark)
    writes = sum(1 for r in requests if r.is_write)
    failed = sum(1 for r in requests if r.problems)
    deviations = sum(1 for r in requests if r.deviations)
    return f"{stack:<11} {step:<22} {len(requests):>8} {writes:>7} {failed:>17} {deviations:>10} {seconds:>8.1f}"


def measure_steps() -> list[str]:
    plugin = github_plugin_dir()
    rows = []
    token = TEST_SECRETS["maya-infra:railwayToken"]
    with (
        tempfile.TemporaryDirectory(prefix="maya-bench-gh-") as root,
        FakeRailway(token=token, workspace_id="ws-production", deploy_polls_to_finish=2) as railway,
        FakeRailway(token=token, workspace_id="ws-staging", deploy_polls_to_finish=2) as staging_railway,
        fake_github(["staging", "production"]) as gh,
    ):
        staging = staging_handing_off(Path(root), staging_railway, gh.url)
        overrides = github_overrides(railway.url, gh.url, railway.workspace_id)
        stack = make_stack(Path(root), "production", overrides, bin_dir=engine_bin())
        use_plugin(stack, plugin)
        received = hand_off(staging, stack)
        if received.returncode != 0:
            raise SystemExit(f"ops handoff failed: {received.stderr}")

        def one_secret_changed() -> object:
            stack.set_secret("maya-infra:snykToken", "bench-rotated")
            return stack.up()

        steps: list[tuple[str, Callable[[], object]]] = [
            ("create from nothing", stack.up),
            ("no-op up", stack.up),
            ("one secret changed", one_secret_changed),
            ("refresh", stack.refresh),
            ("destroy", stack.destroy_deliberately),
        ]
        for label, run in steps:
            mark, start = gh.mark(), time.monotonic()
            run()
            rows.append(_row("production", label, gh, mark, time.monotonic() - start))
        if gh.problems:
            rows.extend(f"  failed validation: {p}" for p in gh.problems)
    return rows


def time_rehearsal(without_github: bool) -> float:
    args = [sys.executable, str(REPO / "scripts" / "rehearse.py")] + (["--without-github"] if without_github else [])
    start = time.monotonic()
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=3600, check=False)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"rehearsal {'without' if without_github else 'with'} GitHub failed:\n{done.stdout[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-rehearsal", action="store_true", help="only the per-step request counts")
    args = parser.parse_args()
    header = ("stack", "step", "requests", "writes", "failed validation", "deviation", "seconds")
    print("{:<11} {:<22} {:>8} {:>7} {:>17} {:>10} {:>8}".format(*header))
    for row in measure_steps():
        print(row, flush=True)
    if not args.skip_rehearsal:
        time_rehearsal(without_github=True)  # warm-up: bytecode, plugin and description caches, page cache
        without = time_rehearsal(without_github=True)
        with_github = time_rehearsal(without_github=False)
        print(
            f"\nwarm rehearsal (both stacks: preview + up + destroy): without GitHub {without:.1f}s, "
            f"with GitHub {with_github:.1f}s, ratio {with_github / without:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
