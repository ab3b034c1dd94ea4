"""Runs the real program on the real Pulumi engine: a temp copy of the project, a local file:// backend,
a passphrase secrets provider, and provider credentials pointing at a fake Railway API on loopback.

Used by the real-engine tests and by the local rehearsal (``scripts/rehearse.sh``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from tests.secrets import stack_secrets

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "program.py", "requirements.txt")
PROJECT_DIRS = ("config", "components", "workflows")
PASSPHRASE = "maya-infra-test-passphrase"


def engine_bin() -> Path:
    """The directory holding `pulumi` (built and cached by scripts/provide-engine.sh on first use)."""
    given = os.environ.get("MAYA_ENGINE_BIN")
    if given:
        return Path(given)
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "provide-engine.sh")], check=True, capture_output=True, text=True, timeout=3600
    )
    return Path(out.stdout.strip().splitlines()[-1])


def engine_env(bin_dir: Path, home: Path, backend: Path | str, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """The engine's environment; ``backend`` is a folder (``file://``) or any backend URL (``postgres://…``)."""
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PULUMI_HOME": str(home),
        "PULUMI_BACKEND_URL": backend if isinstance(backend, str) else f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
    }


#: The workspace a fake Railway serves (FakeRailway's default). Each stack names its own workspace (docs/trust.md):
#: a test of one stack points it at its fake's, the other stack's file keeps its own id; a test of both stacks in one
#: project gives each a fake Railway of its own (``FakeRailway(workspace_id=...)``), as two workspaces are.
FAKE_WORKSPACE = "ws-fake"


def local_overrides(
    railway_url: str, platforms: list[str], poll_seconds: float = 0.05, workspace: str = FAKE_WORKSPACE
) -> dict[str, Any]:
    """What a stack file needs to run against loopback fakes: the API URL, fast polls, short backoff."""
    return {
        "maya-infra:platforms": platforms,
        "maya-infra:railway": {
            "apiUrl": railway_url,
            "workspaceId": workspace,
            "requestsPerSecond": 50,
            "backoffCapSeconds": 0.5,
            "timeoutSeconds": 10,
            "settleSeconds": 5,  # the fake commits at once unless a test holds a write
        },
        "maya-infra:backend": {"deployPollSeconds": poll_seconds, "deployTimeoutSeconds": 60},
    }


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base.get(k), v) if k in base else v for k, v in {**base, **override}.items()}
    return override


@dataclass
class EngineStack:
    """One stack of a temp copy of the project on the real engine."""

    name: str
    project_dir: Path
    stack: auto.Stack
    env: dict[str, str]

    def set_secret(self, key: str, value: str) -> None:
        self.stack.set_config(key, auto.ConfigValue(value, secret=True))

    def up(self, on_output: Callable[[str], None] | None = None) -> auto.UpResult:
        return self.stack.up(on_output=on_output, color="never", suppress_progress=True)

    def preview(self, on_output: Callable[[str], None] | None = None) -> auto.PreviewResult:
        return self.stack.preview(on_output=on_output, color="never", suppress_progress=True)

    def refresh(self, on_output: Callable[[str], None] | None = None) -> auto.RefreshResult:
        return self.stack.refresh(on_output=on_output, color="never", suppress_progress=True)

    def destroy(self, on_output: Callable[[str], None] | None = None) -> auto.DestroyResult:
        return self.stack.destroy(on_output=on_output, color="never", suppress_progress=True)

    def destroy_deliberately(self, on_output: Callable[[str], None] | None = None) -> auto.DestroyResult:
        """What an operator does to really tear a stack down (docs/architecture.md, "Protecting production's
        data"): unprotect every resource, then destroy. Objects retained on delete (production's stateful ones,
        adopted ones) stay where they are and only leave the state."""
        unprotect = self.cli("state", "unprotect", "--all", "--yes")
        if unprotect.returncode != 0 and "no resources" not in (unprotect.stdout + unprotect.stderr).lower():
            raise RuntimeError(f"pulumi state unprotect --all failed:\n{unprotect.stdout}{unprotect.stderr}")
        return self.destroy(on_output)

    def export(self) -> dict[str, Any]:
        deployment = self.stack.export_stack()
        return {"version": deployment.version, "deployment": deployment.deployment}

    def outputs(self) -> dict[str, Any]:
        return {k: v.value for k, v in self.stack.outputs().items()}

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the pulumi CLI itself in the project (as a user would)."""
        return subprocess.run(
            ["pulumi", *args, "--stack", self.name],
            cwd=self.project_dir,
            text=True,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **self.env},
            check=False,
        )


def make_stack(
    root: Path,
    stack_name: str,
    overrides: Mapping[str, Any],
    *,
    bin_dir: Path | None = None,
    secrets: Mapping[str, str] | None = None,
    backend_url: str | None = None,
    passphrase: str = PASSPHRASE,
) -> EngineStack:
    """Copy the project into ``root/project``, write the stack file with ``overrides``, init the stack.

    State goes to ``root/state`` (``file://``) unless ``backend_url`` names another backend; each stack
    may have its own ``passphrase`` (as each GitHub environment holds its own).
    """
    bin_dir = bin_dir or engine_bin()
    project = root / "project"
    if not project.exists():
        project.mkdir(parents=True)
        for name in PROJECT_FILES:
            shutil.copy2(REPO / name, project / name)
        for name in PROJECT_DIRS:
            shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        (project / "venv").symlink_to(REPO / "venv")
        for other in REPO.glob("Pulumi.*.yaml"):  # the program reads the other stack's file too (ownership)
            shutil.copy2(other, project / other.name)
    document = yaml.safe_load((REPO / f"Pulumi.{stack_name}.yaml").read_text())
    values = document["config"]
    for key, value in overrides.items():
        values[key] = _merge(values.get(key), value)
    (project / f"Pulumi.{stack_name}.yaml").write_text(yaml.safe_dump({"config": values}, sort_keys=True))

    home, backend = root / "home", root / "state"
    home.mkdir(exist_ok=True)
    backend.mkdir(exist_ok=True)
    env = engine_env(bin_dir, home, backend_url or backend, passphrase)
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(project),
        pulumi_home=str(home),
        env_vars=env,
        pulumi_command=auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True),
    )
    stack = auto.create_or_select_stack(stack_name, work_dir=str(project), opts=opts)
    engine_stack = EngineStack(stack_name, project, stack, env)
    platforms = set(values.get("maya-infra:platforms", ["railway", "vercel", "github"]))
    wanted = {
        "railwayToken": "railway" in platforms,
        "vercelToken": "vercel" in platforms,
        "vercelDeployToken": "vercel" in platforms and "github" in platforms,
        "githubToken": "github" in platforms and stack_name == "production",  # production's alone (docs/trust.md)
        "snykToken": "github" in platforms,
        "safetyApiKey": "github" in platforms,
    }
    for key, value in (stack_secrets(stack_name) if secrets is None else secrets).items():
        short = key.split(":", 1)[1]
        if wanted.get(short, True):
            engine_stack.set_secret(key, value)
    return engine_stack
