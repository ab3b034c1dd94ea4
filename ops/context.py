"""What every operator command needs about a stack: its config, its outputs (ids, URLs) and credentials.

Sources, in order:
* config: ``Pulumi.<stack>.yaml`` (non-secret settings, validated by :mod:`config`);
* outputs: ``--outputs FILE`` (JSON of ``pulumi stack output --json``), else ``MAYA_OPS_OUTPUTS``, else
  ``pulumi stack output --json --stack <stack>`` run in the project;
* credentials: the usual environment variables (``RAILWAY_API_TOKEN``, ``VERCEL_TOKEN``), else the
  stack's secret config through ``pulumi config get`` (needs the stack's passphrase or backend login);
* API endpoints: ``railway.apiUrl`` from the stack config, overridable with ``MAYA_RAILWAY_API_URL`` and
  ``MAYA_VERCEL_API_URL`` (the local rehearsal and the tests point them at loopback fakes).

Nothing secret is ever printed; errors say which variable or key to set.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.railway.client import ClientSettings, RailwayClient
from config import NAMESPACE, PROJECT_DIR, STACKS, ConfigError, StackConfig, load_from_stack_file

VERCEL_API = "https://api.vercel.com"


class OpsError(Exception):
    """A refusal or failure an operator can act on; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _pulumi(*args: str, stack: str, timeout: float = 120) -> str:
    try:
        result = subprocess.run(
            ["pulumi", *args, "--stack", stack],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise OpsError("the pulumi CLI is not on PATH (scripts/provide-engine.sh prints where it is)") from None
    if result.returncode != 0:
        raise OpsError(f"`pulumi {' '.join(args)} --stack {stack}` failed: {result.stderr.strip()[:300]}")
    return result.stdout


@dataclass
class StackContext:
    stack: str
    config: StackConfig
    outputs: Mapping[str, Any]
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    # ---- loading --------------------------------------------------------------------------------------
    @classmethod
    def load(cls, stack: str, outputs_file: Path | None = None, env: Mapping[str, str] | None = None) -> StackContext:
        env = dict(os.environ if env is None else env)
        if stack not in STACKS:
            raise OpsError(f"unknown stack {stack!r}: this project has {', '.join(STACKS)}")
        try:
            config = load_from_stack_file(stack)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        source = outputs_file or (Path(env["MAYA_OPS_OUTPUTS"]) if env.get("MAYA_OPS_OUTPUTS") else None)
        if source is not None:
            try:
                outputs = json.loads(source.read_text())
            except (OSError, ValueError) as exc:
                raise OpsError(f"cannot read stack outputs from {source}: {exc}") from None
        else:
            outputs = json.loads(_pulumi("stack", "output", "--json", stack=stack) or "{}")
        return cls(stack, config, outputs, env)

    # ---- outputs ----------------------------------------------------------------------------------------
    def output(self, name: str) -> Any:
        value = self.outputs.get(name)
        if value in (None, ""):
            raise OpsError(
                f"stack {self.stack!r} has no output {name!r}: run `pulumi up --stack {self.stack}` "
                "first (or pass --outputs FILE)"
            )
        return value

    # ---- credentials ------------------------------------------------------------------------------------
    def secret(self, env_name: str, key: str) -> str:
        value = self.env.get(env_name)
        if value:
            return value
        try:
            value = _pulumi("config", "get", f"{NAMESPACE}:{key}", stack=self.stack).strip()
        except OpsError:
            value = ""
        if not value:
            raise OpsError(
                f"no credentials: set {env_name}, or `pulumi config set --secret {NAMESPACE}:{key} "
                f"--stack {self.stack}` and make the stack's passphrase available"
            )
        return value

    def railway(self) -> RailwayClient:
        settings = ClientSettings.of(self.config.railway, endpoint=self.env.get("MAYA_RAILWAY_API_URL"))
        return RailwayClient(self.secret("RAILWAY_API_TOKEN", "railwayToken"), settings)

    def vercel_api(self) -> str:
        return self.env.get("MAYA_VERCEL_API_URL") or VERCEL_API

    def vercel_token(self) -> str:
        return self.secret("VERCEL_TOKEN", "vercelToken")
