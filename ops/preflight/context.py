"""What one preflight run knows: the stack's validated config, its credentials, the endpoints, the request ledger.

Credentials are the ones ``pulumi up`` will use — the stack's secrets — read once with
``pulumi config --json --show-secrets`` (one CLI call; it needs the stack's backend and passphrase, as ``up``
does). ``MAYA_INFRA_<KEY>`` (e.g. ``MAYA_INFRA_RAILWAY_TOKEN`` for ``maya-infra:railwayToken``) overrides one
key without the CLI: CI and the tests use it. A credential that cannot be had is a failed check of its
platform, with the command that sets it — never a traceback.

Endpoints default to the real platforms; ``MAYA_RAILWAY_API_URL``, ``MAYA_VERCEL_API_URL``,
``MAYA_GITHUB_API_URL`` (the REST root; else ``github.baseUrl`` + ``/api/v3``) and ``MAYA_CHECKLY_API_URL``
point them elsewhere (the
loopback fakes of the tests).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from config import NAMESPACE, PROJECT_DIR, StackConfig
from ops.preflight.readonly import Ledger

VERCEL_API = "https://api.vercel.com"
GITHUB_API = "https://api.github.com"
CHECKLY_API = "https://api.checklyhq.com"
PULUMI_TIMEOUT_SECONDS = 60


def env_name(key: str) -> str:
    """``railwayToken`` -> ``MAYA_INFRA_RAILWAY_TOKEN``."""
    return "MAYA_INFRA_" + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


@dataclass
class Secrets:
    """The stack's secrets, fetched at most once; ``get`` says why a key is missing instead of raising."""

    stack: str
    env: Mapping[str, str]
    #: The stack as the backend names it (``org/maya-infra/stack`` on Pulumi Cloud; else the stack).
    qualified: str = ""
    _values: dict[str, str] | None = None
    _problem: str = ""

    def _load(self) -> None:
        if self._values is not None:
            return
        self._values = {}
        stack = self.qualified or self.stack
        command = f"pulumi config --json --show-secrets --stack {stack}"
        try:
            result = subprocess.run(
                ["pulumi", "config", "--json", "--show-secrets", "--stack", stack],
                cwd=PROJECT_DIR,
                capture_output=True,
                text=True,
                timeout=PULUMI_TIMEOUT_SECONDS,
                check=False,
                env=dict(self.env),
            )
        except FileNotFoundError:
            self._problem = "the pulumi CLI is not on PATH, so the stack's secrets cannot be read"
            return
        except subprocess.TimeoutExpired:
            self._problem = f"`{command}` did not answer in {PULUMI_TIMEOUT_SECONDS}s (is the state backend reachable?)"
            return
        if result.returncode != 0:
            said = " ".join(result.stderr.split())[:200] or "(no message)"
            self._problem = f"`{command}` failed: {said}"
            return
        try:
            raw = json.loads(result.stdout or "{}")
        except ValueError:
            self._problem = f"`{command}` printed no JSON"
            return
        prefix = f"{NAMESPACE}:"
        self._values = {
            k[len(prefix) :]: str(v.get("value"))
            for k, v in raw.items()
            if k.startswith(prefix) and isinstance(v, Mapping) and v.get("value") not in (None, "")
        }

    def get(self, key: str) -> tuple[str | None, str]:
        """(value, "") or (None, why it is missing and how to set it)."""
        given = self.env.get(env_name(key))
        if given:
            return given, ""
        self._load()
        assert self._values is not None
        value = self._values.get(key)
        if value:
            return value, ""
        setter = f"pulumi config set --secret {NAMESPACE}:{key} --stack {self.stack}"
        if self._problem:
            return None, f"{self._problem}; set {env_name(key)} or make the stack readable, then `{setter}` if unset"
        return None, f"the stack holds no {NAMESPACE}:{key}: `{setter}`"


@dataclass
class Run:
    """Everything the checks share. ``backend_url``: the state backend to inspect (None: from the environment)."""

    cfg: StackConfig
    env: Mapping[str, str]
    secrets: Secrets
    ledger: Ledger = field(default_factory=Ledger)
    backend_url: str | None = None
    dns_server: str | None = None
    timeout: float = 10.0
    #: Checks not to run (``--skip``), by name, e.g. ``railway.schema``.
    skip: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, cfg: StackConfig, env: Mapping[str, str] | None = None, **options: Any) -> Run:
        env = dict(os.environ if env is None else env)
        backend = cfg.state_backend
        qualified = backend.stack_name(cfg.stack) if backend is not None and backend.kind == "pulumi-cloud" else ""
        return cls(cfg, env, Secrets(cfg.stack, env, qualified), **options)

    @property
    def stack(self) -> str:
        return self.cfg.stack

    def railway_url(self) -> str:
        return self.env.get("MAYA_RAILWAY_API_URL") or self.cfg.railway.api_url

    def vercel_url(self) -> str:
        return self.env.get("MAYA_VERCEL_API_URL") or VERCEL_API

    def github_url(self) -> str:
        """GitHub's REST root: api.github.com, or ``<github.baseUrl>/api/v3`` (Enterprise layout, as the provider)."""
        given = self.env.get("MAYA_GITHUB_API_URL")
        if given:
            return given.rstrip("/")
        base = (self.cfg.github.base_url or "").rstrip("/")
        if not base or base == GITHUB_API:
            return GITHUB_API
        return base if base.endswith("/api/v3") else f"{base}/api/v3"

    def checkly_url(self) -> str:
        return self.env.get("MAYA_CHECKLY_API_URL") or CHECKLY_API
