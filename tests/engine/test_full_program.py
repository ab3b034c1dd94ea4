"""The program with GitHub on the real engine: `pulumi preview` of Railway + GitHub for both stacks. Only
production declares GitHub resources (its own and staging's, from staging's hand-off; docs/trust.md); staging
exports its GitHub values as one secret output and declares none.

The GitHub plugin comes from scripts/provide-plugins.sh (built from the Go module proxy; see README,
"Platforms"). Vercel's provider cannot be had on these machines (the proxy serves neither its module nor
its upstream), so it is left out with the documented `maya-infra:platforms` setting.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.components.program import staging_handoff
from tests.engine.harness import REPO, engine_bin, local_overrides, make_stack
from tests.fakes.github_api import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1800)]


@pytest.fixture(scope="session")
def github_plugin() -> Path:
    if os.environ.get("MAYA_GITHUB_PLUGIN"):  # scripts/test.sh provides it before the tests
        return Path(os.environ["MAYA_GITHUB_PLUGIN"])
    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "provide-plugins.sh"), "github"],
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    assert out.returncode == 0, f"scripts/provide-plugins.sh github failed:\n{out.stderr[-2000:]}"
    name, version, path = out.stdout.strip().splitlines()[-1].split("\t")
    assert (name, version) == ("github", "6.15.0")
    return Path(path)


@pytest.mark.parametrize("stack_name", ["staging", "production"])
def test_preview_of_railway_and_github_on_the_real_engine(stack_name: str, tmp_path: Path, github_plugin: Path) -> None:
    with FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"]) as railway, FakeGitHub(orgs=["mayassistant"]) as gh:
        overrides = local_overrides(railway.url, ["railway", "github"])
        overrides["maya-infra:github"] = {"baseUrl": gh.url}
        stack = make_stack(tmp_path, stack_name, overrides, bin_dir=engine_bin())
        stack.env["PATH"] = f"{github_plugin.parent}{os.pathsep}{stack.env['PATH']}"
        if stack_name == "production":  # staging's values, as `ops handoff` leaves them (here: from the mocks)
            with staging_handoff() as directory:
                (stack.project_dir / ".handoff").mkdir()
                shutil.copy2(directory / "staging.json", stack.project_dir / ".handoff" / "staging.json")
        result = stack.cli("preview", "--non-interactive", "--diff")
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        github = (
            "github:index/repositoryEnvironment:RepositoryEnvironment",
            "github:index/repositoryRuleset:RepositoryRuleset",
            "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
            "github:index/repositoryFile:RepositoryFile",
        )
        assert "pulumi-python:dynamic/railway:Deployment" in output
        if stack_name == "production":
            for token in github:
                assert token in output, token
            assert "staging-pipeline-maya-environment" in output and "staging-previews-environment" in output
            assert gh.requests, "the GitHub provider was not configured against the fake"
        else:
            assert not [token for token in github if token in output]
            assert "github_handoff" in output and gh.requests == []  # staging never talks to GitHub
        assert not any(value in output for value in [*TEST_SECRETS.values(), TEST_GITHUB_TOKEN])
        assert railway.count(mutations_only=True) == 0
