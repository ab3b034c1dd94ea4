"""A stack's world on loopback for the on-call command tests: fake Railway and Vercel APIs with deployment
histories, the public endpoints as stand-ins, an outputs file, and a way to run the commands with an
explicit env (``build_world``; the fixtures are in test_oncall.py)."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import load_from_stack_file
from ops import health, rollback, status
from ops.console import Streams
from tests.fakes.railway.dashboard import Dashboard
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from tests.ops import world as w
from tests.ops.apps import FakeApp

RAILWAY_TOKEN = "rw-token-5b1e0c7a9d3f"
VERCEL_TOKEN = "vc-token-8e2d4f6a1c3b"
SHAS = {name: (f"{i:x}" * 40)[:40] for i, name in enumerate(["create", "c1", "c2", "c3", "c4"], start=1)}
VSHAS = {name: (f"{i:x}" * 40)[:40] for i, name in enumerate(["good1", "broken", "good2", "preview", "bad"], start=10)}


class Tty(io.StringIO):
    """A stdin that says it is a terminal, with the person's answer already typed."""

    def isatty(self) -> bool:
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def parser() -> argparse.ArgumentParser:
    """Only the on-call groups (ops/__main__.py's GROUPS are checked in a test of their own)."""
    root = argparse.ArgumentParser(prog="python -m ops")
    sub = root.add_subparsers(dest="command", required=True)
    for group in (status, health, rollback):
        group.register(sub)
    return root


@dataclass
class World:
    railway: FakeRailway
    vercel: FakeVercel
    backend: FakeApp
    frontend: FakeApp
    client: Dashboard
    ids: dict[str, str]
    outputs_path: Path
    outputs: dict[str, Any]
    env: dict[str, str]
    deployments: dict[str, str] = field(default_factory=dict)  # Railway: c1 … c3 -> id
    vdeployments: dict[str, str] = field(default_factory=dict)  # Vercel: good1 … bad -> uid
    project_id: str = ""

    def run(self, *argv: str, stdin: io.StringIO | None = None, env: dict[str, str] | None = None) -> Result:
        args = parser().parse_args(list(argv))
        out, err = io.StringIO(), io.StringIO()
        code = args.handler(args, Streams(self.env if env is None else env, stdin or io.StringIO(), out, err))
        result = Result(code, out.getvalue(), err.getvalue())
        assert RAILWAY_TOKEN not in result.text and VERCEL_TOKEN not in result.text  # nothing secret, ever
        return result

    def write_outputs(self, **changes: Any) -> None:
        self.outputs.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            del self.outputs[key]
        self.outputs_path.write_text(json.dumps(self.outputs))

    def rollbacks(self) -> int:
        return self.railway.count("deploymentRollback")

    def promotions(self) -> list[str]:
        return [d for _, d in self.vercel.promotions]


def build_world(
    tmp_path: Path, started: list[Any], history: bool = True, vercel_history: bool = True, stack: str = "staging"
) -> World:
    """Start the fakes (appended to ``started``, for the caller to stop) and seed them; with
    ``history=False`` the backend has deployments serviceCreate and c1 only. The Railway and Vercel projects
    carry ``stack``'s configured names, as ``pulumi up`` made them; the outputs are ``stack``'s."""
    cfg = load_from_stack_file(stack)
    railway = FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=2)
    vercel = FakeVercel(token=VERCEL_TOKEN)
    started.extend([railway, vercel])
    railway.start()
    vercel.start()
    client = railway.dashboard()  # CI and people made this history, not maya-infra (no exactly-once rule)
    ids = w.railway_service(client, cfg.backend.project_name, cfg.environment)
    railway.advance_deployments()  # the deployment serviceCreate made
    deployments = {"c1": w.railway_deploy(client, railway, ids, SHAS["c1"])}
    if history:
        deployments["c2"] = w.railway_deploy(client, railway, ids, SHAS["c2"], fail="FAILED")
        deployments["c3"] = w.railway_deploy(client, railway, ids, SHAS["c3"])
    project_id = vercel.add_project(cfg.frontend.project_name)
    vdeployments = (
        w.vercel_history(vercel, project_id, VSHAS)
        if vercel_history
        else {"bad": vercel.add_deployment(project_id, sha=VSHAS["bad"])}
    )
    backend = FakeApp({"/api/health": w.backend_health(railway, ids["railway_service_id"], [SHAS["c3"]])})
    frontend = FakeApp({"/": w.frontend_page(vercel, project_id, [vdeployments["bad"]])})
    started.extend([backend, frontend])
    backend.start()
    frontend.start()
    outputs = {
        "stack": stack,
        "platforms": ["github", "railway", "vercel"],
        "backend_url": backend.url,
        "frontend_url": frontend.url,
        "vercel_project_id": project_id,
        **ids,
    }
    path = tmp_path / f"{stack}-outputs.json"
    path.write_text(json.dumps(outputs))
    env = {
        "MAYA_RAILWAY_API_URL": railway.url,
        "RAILWAY_API_TOKEN": RAILWAY_TOKEN,
        "MAYA_VERCEL_API_URL": vercel.url,
        "VERCEL_TOKEN": VERCEL_TOKEN,
        "MAYA_OPS_OUTPUTS": str(path),
        "MAYA_OPS_LOCK_DIR": str(tmp_path / "locks"),
    }
    railway.reset_counters()
    return World(
        railway, vercel, backend, frontend, client, ids, path, outputs, env, deployments, vdeployments, project_id
    )
