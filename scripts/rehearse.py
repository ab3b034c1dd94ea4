"""Local rehearsal of the real job: `pulumi preview` then `pulumi up` for staging and production.

Everything runs on this machine with no account: the real Pulumi engine (built by
scripts/provide-engine.sh), a local file:// state backend with a passphrase, test secrets, and a fake
Railway API on 127.0.0.1 that behaves like Railway's public GraphQL API. The program, its config files
and its Railway provider are the real ones. Platforms without a provider plugin on this machine (GitHub,
Vercel) are left out with the documented `maya-infra:platforms` setting, and the output says so.

Usage: scripts/rehearse.sh [--stack staging|production]... [--keep]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine.harness import engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS


def _plugin_available(bin_dir: Path, name: str) -> bool:
    return (bin_dir / f"pulumi-resource-{name}").exists() or shutil.which(f"pulumi-resource-{name}") is not None


def _banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--stack",
        action="append",
        choices=["staging", "production"],
        help="stack to rehearse (repeatable; default: both)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stacks and the temp folder (no destroy)")
    args = parser.parse_args(argv)
    stacks = args.stack or ["staging", "production"]

    bin_dir = engine_bin()
    platforms = ["railway"] + [p for p in ("vercel", "github") if _plugin_available(bin_dir, p)]
    left_out = sorted({"vercel", "github"} - set(platforms))
    root = Path(tempfile.mkdtemp(prefix="maya-rehearsal-"))
    print(f"engine: {bin_dir}\nstate:  file://{root}/<stack>/state (passphrase-encrypted secrets)")
    if left_out:
        print(
            f"left out (no provider plugin on this machine): {', '.join(left_out)} — "
            "set by maya-infra:platforms; see README, 'Platforms'"
        )

    failed = False
    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=2) as fake:
        print(f"fake Railway API: {fake.url}")
        for name in stacks:
            stack = make_stack(root / name, name, local_overrides(fake.url, platforms), bin_dir=bin_dir)
            fake.reset_counters()
            try:
                _banner(f"{name}: pulumi preview")
                stack.preview(on_output=print)
                preview_requests = fake.counts()
                fake.reset_counters()
                _banner(f"{name}: pulumi up")
                stack.up(on_output=print)
                _banner(f"{name}: stack outputs")
                print(json.dumps(stack.outputs(), indent=2, sort_keys=True))
                _banner(f"{name}: Railway API requests (fake's counters)")
                print(f"preview: {sum(preview_requests.values())} requests {preview_requests}")
                up_requests = fake.counts()
                print(f"up:      {sum(up_requests.values())} requests")
                for operation, count in sorted(up_requests.items()):
                    print(f"  {operation:<32} {count}")
            except Exception as exc:  # report and go on to clean up
                failed = True
                print(f"\nrehearsal of {name} failed: {exc}", file=sys.stderr)
            finally:
                if not args.keep:
                    _banner(f"{name}: clean-up (pulumi destroy)")
                    stack.destroy(on_output=print)
        if not args.keep:
            print(f"\nfake Railway API empty after clean-up: {fake.is_empty()}")
    if args.keep:
        print(f"\nkept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    print("\nrehearsal " + ("FAILED" if failed else "succeeded") + ". The real job: README, 'Running it for real'.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
