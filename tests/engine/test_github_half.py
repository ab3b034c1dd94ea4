"""The GitHub half on the real engine: `preview`, `up`, a no-op `up`, `refresh`, one secret changed, one
reviewer changed, and `destroy`, with the GitHub provider plugin scripts/provide-plugins.sh builds, against the
fake GitHub (tests/fakes/github/) that checks every request and response against GitHub's OpenAPI description
and opens every secret with the environment's libsodium key.

Only production's stack writes GitHub (docs/trust.md): it declares its own half and staging's, from the
values staging hands over — staging runs `up` (its own passphrase, its own state, no GitHub token, no GitHub
resource), `python -m ops handoff --stack production` reads its `github_handoff` output with staging's
credentials, production's `up` declares them.

Railway runs beside it (its fake) because the deploy jobs' values come from Railway's outputs; Vercel is
left out with the documented `maya-infra:platforms` setting (its plugin cannot be had here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from config.envvars import SCAN_SUFFIX
from tests.engine.github_world import (
    GITHUB_SECRETS,
    USERS,
    fake_github,
    github_overrides,
    github_plugin_dir,
    hand_off,
    set_github_setting,
    stack_github_settings,
    staging_handing_off,
    use_plugin,
)
from tests.engine.harness import EngineStack, engine_bin, make_stack
from tests.fakes.github import FakeGitHub, Fault
from tests.fakes.github.model import git_sha
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]

WRITES = ("POST", "PUT", "PATCH", "DELETE")
SECRET_PUT = "actions/create-or-update-environment-secret"


@dataclass
class World:
    stack: EngineStack  # production: it declares both stacks' GitHub halves
    staging: EngineStack | None  # hands its values over (None: staging leaves GitHub out, production is alone)
    github: FakeGitHub
    railway: FakeRailway  # production's workspace
    staging_railway: FakeRailway  # staging's own workspace (docs/trust.md)
    output: list[str] = field(default_factory=list)

    def settings(self, stack: str = "production") -> dict:
        return stack_github_settings(stack)

    @property
    def repo(self) -> str:
        gh = self.settings()
        return f"{gh['owner']}/{gh['backendRepository']}"

    def railway_tokens(self, stack: str | None = None) -> list[str]:
        fakes = {"production": [self.railway], "staging": [self.staging_railway]}.get(stack or "")
        return [
            str(t["token"])
            for f in fakes or (self.railway, self.staging_railway)
            for t in f.state.project_tokens.values()
        ]

    def assert_clean(self) -> None:
        """No validation failure, no plaintext secret in a request, the output or either state."""
        assert self.github.problems == [], "\n".join(self.github.problems)
        assert self.github.leaks == []
        secrets = [*TEST_SECRETS.values(), TEST_GITHUB_TOKEN, *self.railway_tokens()]
        text = "\n".join(self.output)
        assert not [s for s in secrets if s in text], "a secret appears in the engine's output"
        for stack in (s for s in (self.stack, self.staging) if s is not None):
            exported = stack.cli("stack", "export")  # as an operator reads it (no --show-secrets)
            assert exported.returncode == 0, exported.stderr
            assert json.loads(exported.stdout)["deployment"]["resources"]
            assert not [s for s in secrets if s in exported.stdout], f"a secret in plain text in {stack.name}'s state"


@pytest.fixture(scope="module")
def plugin_dir() -> Path:
    return github_plugin_dir()


@pytest.fixture
def world(tmp_path: Path, plugin_dir: Path) -> Iterator[World]:
    token = TEST_SECRETS["maya-infra:railwayToken"]
    with (
        FakeRailway(token=token, workspace_id="ws-production", deploy_polls_to_finish=2) as railway,
        FakeRailway(token=token, workspace_id="ws-staging", deploy_polls_to_finish=2) as staging_railway,
        fake_github(["staging", "production"]) as github,
    ):
        # one project, as in the repository: each stack reads the other's stack file; each has its own passphrase
        # and its own Railway workspace
        staging = staging_handing_off(tmp_path, staging_railway, github.url)
        overrides = github_overrides(railway.url, github.url, railway.workspace_id)
        stack = make_stack(tmp_path, "production", overrides, bin_dir=engine_bin())
        use_plugin(stack, plugin_dir)
        received = hand_off(staging, stack)
        assert received.returncode == 0, received.stdout + received.stderr
        assert "staging's" in received.stdout and "GitHub values" in received.stdout
        assert github.requests == [], "staging's up and the hand-off never talk to GitHub"
        yield World(stack, staging, github, railway, staging_railway)
        if not github.is_empty() or railway.state.projects:
            stack.destroy_deliberately()


@pytest.fixture
def alone(tmp_path: Path, plugin_dir: Path) -> Iterator[World]:
    """Production's own half only: staging leaves GitHub out (its stack file), so there is nothing to hand off.
    For the provider's faults, which do not depend on whose half a request belongs to."""
    token = TEST_SECRETS["maya-infra:railwayToken"]
    with (
        FakeRailway(token=token, workspace_id="ws-production", deploy_polls_to_finish=2) as railway,
        FakeRailway(token=token, workspace_id="ws-staging") as staging_railway,
        fake_github(["production"]) as github,
    ):
        overrides = github_overrides(railway.url, github.url, railway.workspace_id)
        stack = make_stack(tmp_path, "production", overrides, bin_dir=engine_bin())
        staging_file = stack.project_dir / "Pulumi.staging.yaml"
        document = yaml.safe_load(staging_file.read_text())
        document["config"]["maya-infra:platforms"] = ["railway"]
        staging_file.write_text(yaml.safe_dump(document, sort_keys=True))
        use_plugin(stack, plugin_dir)
        yield World(stack, None, github, railway, staging_railway)
        if not github.is_empty() or railway.state.projects:
            stack.destroy_deliberately()


def _changes(result: auto.UpResult | auto.RefreshResult | auto.DestroyResult) -> dict[str, int]:
    return {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}


def _writes(github: FakeGitHub, mark: int) -> list[str]:
    return [f"{r.operation_id} {r.path}" for r in github.since(mark) if r.method in WRITES]


def _check_created(w: World, stack: str) -> None:
    """What `up` left in GitHub for ``stack`` is what its stack file and its values declare."""
    gh = w.settings(stack)
    outputs = w.stack.outputs()
    own = outputs if stack == "production" else outputs["handed_off"][stack]
    env = w.github.environment(w.repo, stack)
    assert env is not None
    expected_reviewers = sorted(("Team" if r["kind"] == "team" else "User", r["id"]) for r in gh.get("reviewers", []))
    assert sorted(env.reviewers) == expected_reviewers
    assert env.prevent_self_review is gh.get("preventSelfReview", True)
    assert env.can_admins_bypass is (stack != "production")
    assert env.branch_policy == (False, True)
    assert [p.name for p in env.policies.values()] == [gh["branch"]]

    repo_key = gh["backendRepository"]
    names = outputs["secret_names"]["github"] if stack == "production" else own["secret_names"]
    assert sorted(env.secrets) == names[repo_key]
    for name, key in GITHUB_SECRETS.items():  # the plaintext the scan job will see is the stack's value
        assert w.github.decrypt_secret(w.repo, f"{env.name}{SCAN_SUFFIX}", name) == TEST_SECRETS[key]
    values_of = w.stack if stack == "production" else w.staging  # staging's ids and token, handed over
    assert values_of is not None
    stack_outputs = values_of.outputs()
    token = w.github.decrypt_secret(w.repo, env.name, "RAILWAY_TOKEN")
    assert token in w.railway_tokens(stack)  # the stack's own project token, from its own workspace
    project = stack_outputs["railway_project_id"]
    assert env.variables["RAILWAY_PROJECT_ID"].value == project
    assert env.variables["BACKEND_URL"].value == stack_outputs["backend_url"]

    repository = w.github.repository(w.repo)
    (ruleset,) = [r for r in repository.rulesets.values() if r.name == f"maya-infra {stack}: {gh['branch']}"]
    assert ruleset.conditions["ref_name"]["include"] == [f"refs/heads/{gh['branch']}"]
    rules = {r["type"]: r.get("parameters") or {} for r in ruleset.rules}
    checks = rules["required_status_checks"]["required_status_checks"]
    assert sorted(c["context"] for c in checks) == sorted(own["required_checks"])
    assert {c.get("integration_id") for c in checks} == {15368}  # only GitHub Actions satisfies them
    assert rules["pull_request"]["require_last_push_approval"] is (stack == "production")

    deployment = w.stack.export()["deployment"]
    handed = "maya:github:HandedOff$"
    declared = {
        r["inputs"]["file"]: r["inputs"]["content"]
        for r in deployment["resources"]
        if r["type"] == "github:index/repositoryFile:RepositoryFile" and (handed in r["urn"]) is (stack != "production")
    }
    assert sorted(declared) == own["workflow_files"][repo_key]
    for path, content in declared.items():
        found = repository.git.file(gh["branch"], path)
        assert found is not None and found[1].decode() == content, path


def test_the_github_half_from_nothing_to_nothing(world: World) -> None:
    w, gh = world, world.github
    out = w.output.append
    assert not [
        r
        for r in w.staging.export()["deployment"]["resources"]
        if r["type"].startswith(("github:", "pulumi:providers:github"))
    ]

    mark = gh.mark()
    preview = w.stack.preview(on_output=out)
    assert (preview.change_summary.get(auto.OpType.CREATE) or 0) >= 40  # both stacks' halves
    assert _writes(gh, mark) == [], "preview must not change anything"

    mark = gh.mark()
    assert _changes(w.stack.up(on_output=out)).keys() == {"create"}
    assert all(r.status < 400 or r.operation_id == "repos/get-content" for r in gh.since(mark))  # 404: no file yet
    _check_created(w, "production")
    _check_created(w, "staging")
    w.assert_clean()

    mark = gh.mark()
    assert _changes(w.stack.up(on_output=out)) == {}
    assert _writes(gh, mark) == []
    assert sorted(gh.counts(mark)) == ["orgs/get"]  # only the provider's configure-time owner lookup

    mark = gh.mark()
    assert _changes(w.stack.refresh(on_output=out)) == {}
    assert _writes(gh, mark) == []

    # one secret changed: exactly one sealed PUT, and the deploy job would see the new value
    env_name = w.stack.outputs()["github_environment"]
    scan_env = env_name + SCAN_SUFFIX  # the scanners' tokens live there alone
    w.stack.set_secret("maya-infra:snykToken", "test-snyk-token-rotated-51")
    mark = gh.mark()
    assert _changes(w.stack.up(on_output=out)) == {"update": 1}
    assert _writes(gh, mark) == [
        f"actions/create-or-update-environment-secret /api/v3/repositories/{gh.repository(w.repo).id}"
        f"/environments/{scan_env}/secrets/SNYK_TOKEN"
    ]
    assert gh.decrypt_secret(w.repo, scan_env, "SNYK_TOKEN") == "test-snyk-token-rotated-51"
    assert "test-snyk-token-rotated-51" not in "\n".join(w.output)

    # without the hand-off, production's program stops in one line and deletes nothing of staging's
    handoff_file = w.stack.project_dir / ".handoff" / "staging.json"
    saved = handoff_file.read_bytes()
    handoff_file.unlink()
    mark = gh.mark()
    with pytest.raises(auto.CommandError) as failed:
        w.stack.up(on_output=out)
    lines = [line.strip() for line in str(failed.value).splitlines() if "hand-off of stack staging is missing" in line]
    assert lines and "python -m ops handoff --stack production" in lines[0], str(failed.value)[-2000:]
    assert _writes(gh, mark) == [] and gh.environment(w.repo, "staging") is not None
    handoff_file.write_bytes(saved)

    # three changes in one update, each exactly one write:
    # - a secret of production: one sealed PUT into production's scan environment (the scanners' tokens live there);
    # - a secret of staging: staging's up writes nothing to GitHub, the hand-off carries it, and production's up
    #   makes one sealed PUT into staging's scan environment;
    # - one reviewer of production swapped: the environment is updated in place (one PUT), nothing else moves.
    repo_id = gh.repository(w.repo).id
    staging_scan_env = "staging" + SCAN_SUFFIX
    w.stack.set_secret("maya-infra:snykToken", "test-snyk-token-rotated-52")
    w.staging.set_secret("maya-infra:snykToken", "test-snyk-token-staging-62")
    reviewers = list(w.settings().get("reviewers", []))
    users = [r for r in reviewers if r["kind"] == "user"]
    reviewers[reviewers.index(users[0])] = {
        "kind": "user",
        "id": USERS["maya-second-oncall"],
        "name": "maya-second-oncall",
    }
    set_github_setting(w.stack, "reviewers", reviewers)
    mark = gh.mark()
    assert _changes(w.staging.up(on_output=out)) == {}
    assert gh.since(mark) == [], "staging never talks to GitHub"
    assert hand_off(w.staging, w.stack).returncode == 0
    assert _changes(w.stack.up(on_output=out)) == {"update": 3}
    assert sorted(_writes(gh, mark)) == sorted(
        [
            f"{SECRET_PUT} /api/v3/repositories/{repo_id}/environments/{scan_env}/secrets/SNYK_TOKEN",
            f"{SECRET_PUT} /api/v3/repositories/{repo_id}/environments/{staging_scan_env}/secrets/SNYK_TOKEN",
            f"repos/create-or-update-environment /api/v3/repos/{w.repo}/environments/production",
        ]
    )
    assert gh.decrypt_secret(w.repo, scan_env, "SNYK_TOKEN") == "test-snyk-token-rotated-52"
    assert gh.decrypt_secret(w.repo, staging_scan_env, "SNYK_TOKEN") == "test-snyk-token-staging-62"
    assert "test-snyk-token-rotated-52" not in "\n".join(w.output)
    env = gh.environment(w.repo, "production")
    assert env is not None
    assert ("User", USERS["maya-second-oncall"]) in env.reviewers
    assert len(env.reviewers) == len(reviewers)
    w.assert_clean()

    outputs = w.stack.outputs()
    repository = gh.repository(w.repo)
    # production's own half is protected and retained on delete (issue 12): a deliberate tear-down; staging's
    # half, declared from its hand-off, goes with it
    destroyed = w.stack.destroy_deliberately(on_output=out)
    retained = {env_name, f"{env_name}-alerts", scan_env}
    assert set(repository.environments) == retained and not repository.rulesets
    assert all(not e.secrets and not e.variables for e in repository.environments.values())
    assert _changes(destroyed).keys() == {"delete"}
    for stack, files in (
        ("production", outputs["workflow_files"]),
        ("staging", outputs["handed_off"]["staging"]["workflow_files"]),
    ):
        branch = w.settings(stack)["branch"]
        assert not [p for paths in files.values() for p in paths if repository.git.file(branch, p)]
    assert gh.problems == [] and gh.leaks == []


def test_faults_converge_or_stop_with_one_clear_message(alone: World) -> None:
    """403 secondary rate limit with Retry-After and one 502: the provider waits/retries and the run
    converges, each write landing once. A 5xx that persists past the provider's retries stops the run with
    one message naming the file; the next `up` finishes the job."""
    w, gh = alone, alone.github
    out = w.output.append
    path = ".github/workflows/backend.yml"
    rate_limit = gh.inject(Fault("repos/create-or-update-environment", 403, retry_after=1))
    secret_5xx = gh.inject(Fault("actions/create-or-update-environment-secret", 502))
    file_5xx = gh.inject(Fault("repos/create-or-update-file-contents", 503, times=4, path_contains=path))

    mark = gh.mark()
    with pytest.raises(auto.CommandError) as failed:
        w.stack.up(on_output=out)
    assert file_5xx.hits == 4  # the provider's 1 try + 3 retries
    message = str(failed.value)
    assert [line for line in message.splitlines() if "503" in line and path in line], message[-3000:]
    git = gh.repository(w.repo).git
    assert git.file("main", path) is None

    assert _changes(w.stack.up(on_output=out)).keys() == {"create"}  # what the failed run could not make
    assert rate_limit.hits == 1 and secret_5xx.hits == 1  # each was waited out / retried by the provider
    _check_created(w, "production")
    landed = [r for r in gh.since(mark) if r.method in WRITES and r.status < 300]
    per_target = [
        (r.operation_id, r.path, isinstance(r.body, dict) and (r.body.get("name"), r.body.get("branch")))
        for r in landed
    ]
    assert len(per_target) == len(set(per_target)), "a write landed twice"
    files = w.stack.outputs()["workflow_files"]["maya"]
    assert len(git.history("main")) == 1 + len(files)  # one commit per file
    w.assert_clean()


def test_a_contents_write_on_a_moved_branch_stops_then_refresh_and_up_converge(alone: World) -> None:
    """Someone pushes the workflow file by hand (the branch moves, the file's blob changes); the next
    change the program makes to that file is a 409 from GitHub: the run stops with one message naming
    the file, and `refresh` + `up` converge (the program owns the file's content)."""
    w, gh = alone, alone.github
    out = w.output.append
    w.stack.up(on_output=out)
    path = ".github/workflows/backend.yml"
    gh.commit_out_of_band(w.repo, "main", path, "name: edited by hand\n")
    set_github_setting(w.stack, "backendPath", "services/backend")  # changes production's backend.yml

    with pytest.raises(auto.CommandError) as failed:
        w.stack.up(on_output=out)
    message = str(failed.value)
    assert "409" in message and path in message, message[-3000:]
    assert gh.repository(w.repo).git.file("main", path) == (
        git_sha("blob", b"name: edited by hand\n"),
        b"name: edited by hand\n",
    )  # nothing overwritten

    w.stack.refresh(on_output=out)
    mark = gh.mark()
    w.stack.up(on_output=out)
    assert "repos/create-or-update-file-contents" in gh.counts(mark)
    written = gh.repository(w.repo).git.file("main", path)
    assert written is not None
    content = written[1].decode()
    assert "services/backend" in content
    assert _changes(w.stack.up(on_output=out)) == {}
    w.assert_clean()
