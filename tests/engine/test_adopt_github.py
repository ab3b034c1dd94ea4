"""GitHub adoption on the real engine: production's `ops adopt` finds the running environments of BOTH stacks
(production declares every stack's GitHub half, docs/trust.md), their secrets and variables, the rulesets and the
workflow files on the fake GitHub API, and `pulumi preview` then IMPORTS them (the ``import_`` option with the
discovered ids) instead of creating them. Railway is adopted at the same time."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
from tests.components.program import run_program, staging_handoff
from tests.engine.harness import _merge, engine_bin, local_overrides, make_stack
from tests.engine.test_adopt import RAILWAY_TOKEN, declared_variables, ops_adopt
from tests.engine.test_full_program import github_plugin  # noqa: F401 - the session fixture
from tests.fakes.github_api import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.fakes.running_maya import seed
from workflows import render_app_workflows

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]
GITHUB = "github:index/"


def _ci_names(environment: str, overrides: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The secret names and variables production's program declares in ``environment`` (what the running MAYA
    has there; the alerts and previews environments are new with the program, so not seeded)."""
    raw, _ = config.read_stack_file("production")
    mocks = run_program("production", {k: _merge(raw.get(k), v) for k, v in overrides.items()}).mocks
    secrets = [
        r.inputs["secretName"]
        for r in mocks.of_type(GITHUB + "actionsEnvironmentSecret:ActionsEnvironmentSecret")
        if r.inputs["environment"] == environment
    ]
    variables = {
        r.inputs["variableName"]: r.inputs["value"]
        for r in mocks.of_type(GITHUB + "actionsEnvironmentVariable:ActionsEnvironmentVariable")
        if r.inputs["environment"] == environment
    }
    return secrets, variables


def _seed_half(gh: FakeGitHub, cfg: config.StackConfig, overrides: dict[str, Any]) -> None:
    """One stack's GitHub half as the running MAYA has it (made by hand on the settings pages)."""
    repo = f"{cfg.github.owner}/{cfg.github.backend_repository}"
    secrets, variables = _ci_names(cfg.environment, overrides)
    gh.add_environment(
        repo,
        cfg.environment,
        reviewers=[("Team" if r.kind == "team" else "User", r.id) for r in cfg.github.reviewers],
        secrets=secrets,
        variables=variables,
        prevent_self_review=cfg.github.prevent_self_review,
        can_admins_bypass=not cfg.is_production,
        branches=[cfg.github.branch],
    )
    gh.add_ruleset(repo, f"maya-infra {cfg.stack}: {cfg.github.branch}", cfg.github.branch)
    for path, content in render_app_workflows(cfg)[cfg.github.backend_repository].items():
        gh.add_file(repo, path, cfg.github.branch, content)


def test_preview_after_adoption_imports_both_stacks_github_objects(
    tmp_path: Path,
    github_plugin: Path,  # noqa: F811
) -> None:
    with FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=1) as railway, FakeGitHub(orgs=["mayassistant"]) as gh:
        overrides = local_overrides(railway.url, ["railway", "github"])
        overrides["maya-infra:github"] = {"baseUrl": gh.url}
        stack = make_stack(tmp_path, "production", overrides, bin_dir=engine_bin())
        stack.env["PATH"] = f"{github_plugin.parent}{os.pathsep}{stack.env['PATH']}"
        cfg = config.load_from_stack_file("production", stack.project_dir)
        staging = config.load_from_stack_file("staging", stack.project_dir)
        seed(railway, cfg, declared_variables("production", local_overrides(railway.url, ["railway"])))
        for half in (cfg, staging):
            _seed_half(gh, half, overrides)

        # staging's values reach production's program through the hand-off (here: staging's program under mocks);
        # production's program needs it for every run, ops adopt's recording run included (docs/trust.md)
        with staging_handoff() as directory:
            (stack.project_dir / ".handoff").mkdir(exist_ok=True)
            shutil.copy2(directory / "staging.json", stack.project_dir / ".handoff" / "staging.json")
        adopt = ops_adopt(stack, "--yes")
        assert adopt.returncode == 0, adopt.stdout[-4000:] + adopt.stderr[-4000:]
        assert railway.count(mutations_only=True) == 0
        assert all(r.method == "GET" for r in gh.requests)
        written = (stack.project_dir / "Pulumi.production.yaml").read_text()
        repo = cfg.github.backend_repository
        assert f"pipeline-{repo}-environment: {repo}:production" in written
        assert f"staging-pipeline-{repo}-environment: {repo}:staging" in written

        result = stack.cli("preview", "--json", "--non-interactive")
        output = result.stdout + result.stderr
        assert result.returncode == 0, (
            output[-5000:] + "\nrequests: " + str([(r.line, r.query, r.status) for r in gh.requests][-30:])
        )
        steps = json.loads(result.stdout).get("steps") or []
        github_steps = {(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in steps if f"${GITHUB}" in s["urn"]}
        imported = {name for op, name in github_steps if op == "import"}
        created = {name for op, name in github_steps if op == "create"}
        for prefix in ("pipeline", "staging-pipeline"):
            assert f"{prefix}-{repo}-environment" in imported and f"{prefix}-{repo}-ruleset" in imported
        ids = yaml.safe_load(written)["config"]["maya-infra:adopt"]["imports"]
        adopted = {n for n in ids if n in imported | created}  # the GitHub ids ops adopt wrote
        for prefix, half in (("pipeline", cfg), ("staging-pipeline", staging)):
            secrets, variables = _ci_names(half.environment, overrides)
            seeded = [("secret", n) for n in secrets] + [("variable", n) for n in variables]
            assert seeded and adopted >= {f"{prefix}-{repo}-{k}-{n}" for k, n in seeded}
        assert adopted <= imported, f"found by ops adopt, created anyway: {sorted(adopted & created)}"
        # workflow files are committed over (overwrite_on_create), not imported (see ops/adopt.py); the rest of
        # what is created is what the running MAYA does not have: the alerts, scan and previews environments
        new = ("-alerts-", "-scan-")
        assert {
            n
            for n in created
            if "/" not in n and not any(k in n for k in new) and not n.startswith("staging-previews-")
        } == set()
        assert not any(op in ("delete", "replace") for op, _ in github_steps)
        assert railway.count(mutations_only=True) == 0
        assert not [r for r in gh.requests if r.method != "GET"], "a preview writes nothing to GitHub"
