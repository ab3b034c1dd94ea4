"""The GitHub half on the real engine: a fake GitHub that knows the accounts and the repository the stack
files name, the stack overrides that point the provider at it, and the checks every step repeats.

Used by tests/engine/test_github_half.py, bench/github_requests.py and scripts/rehearse.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.engine.harness import REPO, EngineStack, local_overrides
from tests.fakes.github import FakeGitHub
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

#: the accounts the stack files name (Pulumi.production.yaml's reviewers), plus one more to swap in
USERS = {"maya-oncall-lead": 1920301, "maya-second-oncall": 1920302}
TEAMS = {"mayassistant/maya-release-managers": 4218001, "mayassistant/maya-infra-maintainers": 4218002}
#: GitHub secret -> the stack secret it carries (tests/secrets.py), for the decrypt-and-compare check
GITHUB_SECRETS = {"SNYK_TOKEN": "maya-infra:snykToken", "SAFETY_API_KEY": "maya-infra:safetyApiKey"}


def stack_github_settings(stack_name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / f"Pulumi.{stack_name}.yaml").read_text())["config"]["maya-infra:github"])


def github_plugin_dir() -> Path:
    """The folder of the GitHub provider plugin scripts/provide-plugins.sh builds (cached after the first time)."""
    given = os.environ.get("MAYA_GITHUB_PLUGIN")
    if given:
        return Path(given).parent
    import subprocess

    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "provide-plugins.sh"), "github"],
        capture_output=True,
        text=True,
        timeout=3000,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"scripts/provide-plugins.sh github failed:\n{out.stderr[-2000:]}")
    path = Path(out.stdout.strip().splitlines()[-1].split("\t")[2])
    os.environ["MAYA_GITHUB_PLUGIN"] = str(path)
    return path.parent


def fake_github(stack_names: Iterable[str], watch: Iterable[str] = ()) -> FakeGitHub:
    """A fake GitHub with the repositories and branches the stacks name (not started)."""
    repos: dict[str, set[str]] = {}
    for name in stack_names:
        gh = stack_github_settings(name)
        for repo in {gh["frontendRepository"], gh["backendRepository"]}:
            repos.setdefault(f"{gh['owner']}/{repo}", {"main"}).add(gh["branch"])
    fake = FakeGitHub(
        orgs=sorted({r.split("/")[0] for r in repos}),
        users=USERS,
        teams=TEAMS,
        token=TEST_GITHUB_TOKEN,
        watch=[*TEST_SECRETS.values(), *watch],
    )
    for full, branches in repos.items():
        fake.add_repository(full, ["main", *sorted(branches - {"main"})])
    return fake


def github_overrides(railway_url: str, github_url: str, workspace: str | None = None) -> dict[str, Any]:
    """Railway + GitHub against the fakes (Vercel cannot be had here; README, 'Platforms')."""
    overrides = local_overrides(railway_url, ["railway", "github"], **({"workspace": workspace} if workspace else {}))
    overrides["maya-infra:github"] = {"baseUrl": github_url}
    return overrides


def use_plugin(stack: EngineStack, plugin_dir: Path) -> None:
    stack.env["PATH"] = f"{plugin_dir}{os.pathsep}{stack.env['PATH']}"
    env_vars = stack.stack.workspace.env_vars  # the engine's own environment (the harness passes a dict)
    if isinstance(env_vars, dict):
        env_vars["PATH"] = stack.env["PATH"]


def set_github_setting(stack: EngineStack, key: str, value: Any) -> None:
    """Change one key of ``maya-infra:github`` in the stack file (as an operator editing it would)."""
    path = stack.project_dir / f"Pulumi.{stack.name}.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["maya-infra:github"][key] = value
    path.write_text(yaml.safe_dump(document, sort_keys=True))


#: staging's own passphrase: production reads staging's hand-off with it, never with its own (docs/trust.md)
STAGING_PASSPHRASE = "maya-infra-test-passphrase-staging"


def run_ops(stack: EngineStack, *args: str, env: dict[str, str] | None = None) -> Any:
    """`python -m ops <args> --stack <stack> --project-dir <its copy>` as a CI job runs it."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "ops", *args, "--stack", stack.name, "--project-dir", str(stack.project_dir)],
        cwd=REPO,
        env={**os.environ, **stack.env, "PYTHONPATH": str(REPO), **(env or {})},
        text=True,
        capture_output=True,
        timeout=600,
        check=False,
    )


def hand_off(staging: EngineStack, production: EngineStack) -> Any:
    """`ops handoff --stack production` with staging's own backend and passphrase (STAGING_*), as production's
    pipeline runs it: staging's github_handoff output lands in production's project copy (.handoff/)."""
    staging_env = {
        "STAGING_PULUMI_BACKEND_URL": staging.env["PULUMI_BACKEND_URL"],
        "STAGING_PULUMI_CONFIG_PASSPHRASE": staging.env["PULUMI_CONFIG_PASSPHRASE"],
    }
    return run_ops(production, "handoff", env=staging_env)


def staging_handing_off(root: Path, railway: Any, github_url: str) -> EngineStack:
    """Staging with its GitHub platform, up: it declares no GitHub resource (no plugin needed) and exports its
    values as the secret output github_handoff, with its own passphrase. Make production in the same ``root``
    (one project, as in the repository: production reads staging's stack file as staging runs it)."""
    from tests.engine.harness import make_stack

    overrides = github_overrides(railway.url, github_url, railway.workspace_id)  # staging's own fake workspace
    staging = make_stack(root, "staging", overrides, passphrase=STAGING_PASSPHRASE)
    staging.up()
    return staging
