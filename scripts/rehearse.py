"""Local rehearsal of the real job: `pulumi preview` then `pulumi up` for staging and production.

Everything runs on this machine with no account: the real Pulumi engine (built by
scripts/provide-engine.sh), a local file:// state backend with a passphrase, test secrets, and a fake
Railway API on 127.0.0.1 that behaves like Railway's public GraphQL API. The program, its config files
and its Railway provider are the real ones. Platforms without a provider plugin on this machine (GitHub,
Vercel) are left out with the documented `maya-infra:platforms` setting, and the output says so.

Usage: scripts/rehearse.sh [--stack staging|production]... [--keep] [--serve [--serve-minutes N]]

--serve (docs/oncall.md): after `pulumi up`, keep the fake Railway API running, add a fake Vercel API and
stand-ins for the stack's public endpoints, make production "unhealthy" (a bad backend deploy and a bad
frontend deploy), write an outputs file and an env file per stack, print how to run `python -m ops
status|health|rollback` against them, and serve until Ctrl-C (at most --serve-minutes). The stacks are
destroyed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import signal
import sys
import tempfile
import threading
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.railway.client import ClientSettings, RailwayClient
from tests.engine.harness import engine_bin, local_overrides, make_stack
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from tests.ops import world
from tests.ops.apps import FakeApp
from tests.secrets import TEST_SECRETS

REPO = Path(__file__).resolve().parent.parent
RAILWAY_IDS = ("railway_project_id", "railway_environment_id", "railway_service_id")


def _plugin_available(bin_dir: Path, name: str) -> bool:
    return (bin_dir / f"pulumi-resource-{name}").exists() or shutil.which(f"pulumi-resource-{name}") is not None


def _banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def _serve_oncall(fake: FakeRailway, outputs: dict[str, dict[str, Any]], root: Path, minutes: float) -> None:
    """Stand in for production being unhealthy, and serve until Ctrl-C or ``minutes`` (docs/oncall.md)."""
    railway_token = TEST_SECRETS["maya-infra:railwayToken"]
    vercel_token = TEST_SECRETS["maya-infra:vercelToken"]
    client = RailwayClient(railway_token, ClientSettings(endpoint=fake.url, requests_per_second=50))
    with ExitStack() as running:
        vercel = running.enter_context(FakeVercel(token=vercel_token))
        guides = []
        for index, (name, stack_outputs) in enumerate(outputs.items()):
            ids = {k: str(stack_outputs[k]) for k in RAILWAY_IDS}
            good, bad = f"{index + 1:x}" * 40, f"b{index + 1:x}d" * 13 + "b"
            world.railway_deploy(client, fake, ids, good)  # a good CI deploy, then a bad one: live and unhealthy
            world.railway_deploy(client, fake, ids, bad)
            project_id = str(stack_outputs.get("vercel_project_id") or f"prj_rehearsal{name}")
            vercel.add_project(f"maya-frontend-{name}", project_id)
            shas = {k: hashlib.sha256(f"{name}/{k}".encode()).hexdigest()[:40] for k in world.VERCEL_HISTORY}
            history = world.vercel_history(vercel, project_id, shas)
            backend = running.enter_context(
                FakeApp({"/api/health": world.backend_health(fake, ids["railway_service_id"], [bad])})
            )
            frontend = running.enter_context(FakeApp({"/": world.frontend_page(vercel, project_id, [history["bad"]])}))
            served = {
                **stack_outputs,
                "platforms": sorted({*stack_outputs.get("platforms", []), "vercel"}),
                "backend_url": backend.url,
                "frontend_url": frontend.url,
                "vercel_project_id": project_id,
            }
            outputs_file = root / f"{name}.outputs.json"
            outputs_file.write_text(json.dumps(served, indent=2, sort_keys=True))
            env_file = root / f"oncall-{name}.env"
            env_file.write_text(
                "# the local rehearsal's fakes (test credentials, loopback only); see docs/oncall.md\n"
                f"export MAYA_RAILWAY_API_URL={fake.url}\n"
                f"export RAILWAY_API_TOKEN={railway_token}\n"
                f"export MAYA_VERCEL_API_URL={vercel.url}\n"
                f"export VERCEL_TOKEN={vercel_token}\n"
                f"export MAYA_OPS_OUTPUTS={outputs_file}\n"
            )
            guides.append((name, env_file, bad))
        client.close()
        _banner("on-call rehearsal: production is unhealthy (docs/oncall.md)")
        for name, env_file, bad in guides:
            print(
                f"{name}: the backend's live deployment runs commit {bad[:7]} (its /api/health fails) and the\n"
                f"frontend's production deployment answers 500. In another terminal, from {REPO}:\n"
                f"  source {env_file}\n"
                f"  venv/bin/python -m ops status --stack {name}\n"
                f"  venv/bin/python -m ops health --stack {name}\n"
                f"  venv/bin/python -m ops rollback backend --stack {name}\n"
                f"  venv/bin/python -m ops rollback frontend --stack {name}\n"
                f"  venv/bin/python -m ops health --stack {name}\n"
            )
        print(f"serving until Ctrl-C (at most {minutes:g} minutes) …", flush=True)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stop.wait(max(0.0, minutes * 60))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("stopping the on-call stand-ins", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--stack",
        action="append",
        choices=["staging", "production"],
        help="stack to rehearse (repeatable; default: both)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stacks and the temp folder (no destroy)")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="after `up`, serve the fakes for the on-call commands until Ctrl-C (docs/oncall.md)",
    )
    parser.add_argument(
        "--serve-minutes", type=float, default=60.0, help="with --serve: stop serving after this long (default 60)"
    )
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
    outputs: dict[str, dict[str, Any]] = {}
    to_destroy = []
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
                outputs[name] = stack.outputs()
                print(json.dumps(outputs[name], indent=2, sort_keys=True))
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
                if not args.keep and not args.serve:
                    _banner(f"{name}: clean-up (pulumi destroy)")
                    stack.destroy_deliberately(on_output=print)
                elif not args.keep:
                    to_destroy.append((name, stack))
        if args.serve and not failed:
            _serve_oncall(fake, outputs, root, args.serve_minutes)
        for name, stack in to_destroy:
            _banner(f"{name}: clean-up (pulumi destroy)")
            stack.destroy_deliberately(on_output=print)
        if not args.keep:
            print(
                f"\nfake Railway API empty after clean-up: {fake.is_empty()} "
                "(production's project, environment, service, database and custom domain are retained on delete)"
            )
    if args.keep:
        print(f"\nkept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    print("\nrehearsal " + ("FAILED" if failed else "succeeded") + ". The real job: README, 'Running it for real'.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
