"""The GitHub half on the real engine: `preview`, `up`, a no-op `up`, `refresh`, one secret changed, one
reviewer changed, and `destroy`, for both stacks, with the GitHub provider plugin scripts/provide-plugins.sh
builds, against the fake GitHub (tests/fakes/github/) that checks every request and response against
GitHub's OpenAPI description and opens every secret with the environment's libsodium key.

Railway runs beside it (its fake) because the deploy jobs' values come from Railway's outputs; Vercel is
left out with the documented `maya-infra:platforms` setting (its plugin cannot be had here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pulumi import automation as auto

from config.envvars import SCAN_SUFFIX
from tests.engine.github_world import (
    GITHUB_SECRETS,
    USERS,
    fake_github,
    github_overrides,
    github_plugin_dir,
    set_github_setting,
    stack_github_settings,
    use_plugin,
)
from tests.engine.harness import EngineStack, engine_bin, make_stack
from tests.fakes.github import FakeGitHub, Fault
from tests.fakes.github.model import git_sha
from tests.fakes.railway_api import FakeRailway
from tests.secrets import TEST_SECRETS

pytestmark = [pytest.mark.engine, pytest.mark.timeout(1500)]

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    stack: EngineStack
    github: FakeGitHub
    railway: FakeRailway
    output: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict:
        return stack_github_settings(self.stack.name)

    @property
    def repo(self) -> str:
        gh = self.settings
        return f"{gh['owner']}/{gh['backendRepository']}"

    def railway_tokens(self) -> list[str]:
        return [str(t["token"]) for t in self.railway.state.project_tokens.values()]

    def assert_clean(self) -> None:
        """No validation failure, no plaintext secret in a request, the output or the state."""
        assert self.github.problems == [], "\n".join(self.github.problems)
        assert self.github.leaks == []
        secrets = [*TEST_SECRETS.values(), *self.railway_tokens()]
        text = "\n".join(self.output)
        assert not [s for s in secrets if s in text], "a secret appears in the engine's output"
        exported = self.stack.cli("stack", "export")  # as an operator reads it (no --show-secrets)
        assert exported.returncode == 0, exported.stderr
        assert json.loads(exported.stdout)["deployment"]["resources"]
        assert not [s for s in secrets if s in exported.stdout], "a secret appears in plaintext in the state"


@pytest.fixture(scope="module")
def plugin_dir() -> Path:
    return github_plugin_dir()


def _world(tmp_path: Path, stack_name: str, plugin_dir: Path) -> Iterator[World]:
    with (
        FakeRailway(token=TEST_SECRETS["maya-infra:railwayToken"], deploy_polls_to_finish=2) as railway,
        fake_github([stack_name]) as github,
    ):
        stack = make_stack(tmp_path, stack_name, github_overrides(railway.url, github.url), bin_dir=engine_bin())
        use_plugin(stack, plugin_dir)
        world = World(stack, github, railway)
        yield world
        if not github.is_empty() or railway.state.projects:
            stack.destroy_deliberately()


@pytest.fixture(params=["staging", "production"])
def world(request: pytest.FixtureRequest, tmp_path: Path, plugin_dir: Path) -> Iterator[World]:
    yield from _world(tmp_path, request.param, plugin_dir)


@pytest.fixture
def staging(tmp_path: Path, plugin_dir: Path) -> Iterator[World]:
    yield from _world(tmp_path, "staging", plugin_dir)


def _changes(result: auto.UpResult | auto.RefreshResult | auto.DestroyResult) -> dict[str, int]:
    return {k: v for k, v in (result.summary.resource_changes or {}).items() if k != "same"}


def _writes(github: FakeGitHub, mark: int) -> list[str]:
    return [f"{r.operation_id} {r.path}" for r in github.since(mark) if r.method in WRITES]


def _check_created(w: World) -> None:
    """What `up` left in GitHub is what the stack file and the program declare."""
    gh, outputs = w.settings, w.stack.outputs()
    env = w.github.environment(w.repo, outputs["github_environment"])
    assert env is not None
    expected_reviewers = sorted(("Team" if r["kind"] == "team" else "User", r["id"]) for r in gh.get("reviewers", []))
    assert sorted(env.reviewers) == expected_reviewers
    assert env.prevent_self_review is gh.get("preventSelfReview", True)
    assert env.can_admins_bypass is (w.stack.name != "production")
    assert env.branch_policy == (False, True)
    assert [p.name for p in env.policies.values()] == [gh["branch"]]

    repo_key = gh["backendRepository"]
    assert sorted(env.secrets) == outputs["secret_names"]["github"][repo_key]
    for name, key in GITHUB_SECRETS.items():  # the plaintext the scan job will see is the stack's value
        assert w.github.decrypt_secret(w.repo, f"{env.name}{SCAN_SUFFIX}", name) == TEST_SECRETS[key]
    assert w.github.decrypt_secret(w.repo, env.name, "RAILWAY_TOKEN") in w.railway_tokens()
    assert env.variables["RAILWAY_PROJECT_ID"].value == outputs["railway_project_id"]
    assert env.variables["BACKEND_URL"].value == outputs["backend_url"]

    repository = w.github.repository(w.repo)
    (ruleset,) = repository.rulesets.values()
    assert ruleset.conditions["ref_name"]["include"] == [f"refs/heads/{gh['branch']}"]
    rules = {r["type"]: r.get("parameters") or {} for r in ruleset.rules}
    checks = rules["required_status_checks"]["required_status_checks"]
    assert sorted(c["context"] for c in checks) == sorted(gh["requiredChecks"])
    assert rules["pull_request"]["require_last_push_approval"] is (w.stack.name == "production")

    deployment = w.stack.export()["deployment"]
    declared = {
        r["inputs"]["file"]: r["inputs"]["content"]
        for r in deployment["resources"]
        if r["type"] == "github:index/repositoryFile:RepositoryFile"
    }
    assert sorted(declared) == outputs["workflow_files"][repo_key]
    for path, content in declared.items():
        found = repository.git.file(gh["branch"], path)
        assert found is not None and found[1].decode() == content, path


def test_the_github_half_from_nothing_to_nothing(world: World) -> None:
    w, gh = world, world.github
    out = w.output.append

    mark = gh.mark()
    preview = w.stack.preview(on_output=out)
    assert (preview.change_summary.get(auto.OpType.CREATE) or 0) >= 20
    assert _writes(gh, mark) == [], "preview must not change anything"

    mark = gh.mark()
    assert _changes(w.stack.up(on_output=out)).keys() == {"create"}
    assert all(r.status < 400 or r.operation_id == "repos/get-content" for r in gh.since(mark))  # 404: no file yet
    _check_created(w)
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

    # one reviewer changed: the environment is updated in place (one PUT), nothing else moves
    reviewers = list(w.settings.get("reviewers", []))
    users = [r for r in reviewers if r["kind"] == "user"]
    if users:  # production: swap the on-call lead for the second on-call
        reviewers[reviewers.index(users[0])] = {
            "kind": "user",
            "id": USERS["maya-second-oncall"],
            "name": "maya-second-oncall",
        }
    else:  # staging: one reviewer where there was none
        reviewers.append({"kind": "user", "id": USERS["maya-second-oncall"], "name": "maya-second-oncall"})
    set_github_setting(w.stack, "reviewers", reviewers)
    mark = gh.mark()
    assert _changes(w.stack.up(on_output=out)) == {"update": 1}
    assert [x.split(" ")[0] for x in _writes(gh, mark)] == ["repos/create-or-update-environment"]
    env = gh.environment(w.repo, env_name)
    assert env is not None
    assert ("User", USERS["maya-second-oncall"]) in env.reviewers
    assert len(env.reviewers) == len(reviewers)
    w.assert_clean()

    files = w.stack.outputs()["workflow_files"]
    branch = w.settings["branch"]
    repository = gh.repository(w.repo)
    if env_name == "production":  # protected and retained on delete (issue 12): a deliberate tear-down
        destroyed = w.stack.destroy_deliberately(on_output=out)
        retained = {env_name, f"{env_name}-alerts", scan_env}
        assert set(repository.environments) == retained and not repository.rulesets
        assert all(not e.secrets and not e.variables for e in repository.environments.values())
    else:
        destroyed = w.stack.destroy(on_output=out)
        assert gh.is_empty()
    assert _changes(destroyed).keys() == {"delete"}
    assert not [p for paths in files.values() for p in paths if repository.git.file(branch, p)]
    assert gh.problems == [] and gh.leaks == []


def test_faults_converge_or_stop_with_one_clear_message(staging: World) -> None:
    """403 secondary rate limit with Retry-After and one 502: the provider waits/retries and the run
    converges, each write landing once. A 5xx that persists past the provider's retries stops the run with
    one message naming the file; the next `up` finishes the job."""
    w, gh = staging, staging.github
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
    assert gh.repository(w.repo).git.file("develop", path) is None

    assert _changes(w.stack.up(on_output=out)).keys() == {"create"}  # what the failed run could not make
    assert rate_limit.hits == 1 and secret_5xx.hits == 1  # each was waited out / retried by the provider
    _check_created(w)
    landed = [r for r in gh.since(mark) if r.method in WRITES and r.status < 300]
    per_target = [(r.operation_id, r.path, isinstance(r.body, dict) and r.body.get("name")) for r in landed]
    assert len(per_target) == len(set(per_target)), "a write landed twice"
    files = w.stack.outputs()["workflow_files"]["maya"]
    assert len(gh.repository(w.repo).git.history("develop")) == 1 + len(files)  # one commit per file
    w.assert_clean()


def test_a_contents_write_on_a_moved_branch_stops_then_refresh_and_up_converge(staging: World) -> None:
    """Someone pushes the workflow file by hand (the branch moves, the file's blob changes); the next
    change the program makes to that file is a 409 from GitHub: the run stops with one message naming
    the file, and `refresh` + `up` converge (the program owns the file's content)."""
    w, gh = staging, staging.github
    out = w.output.append
    w.stack.up(on_output=out)
    path = ".github/workflows/backend.yml"
    gh.commit_out_of_band(w.repo, "develop", path, "name: edited by hand\n")
    set_github_setting(w.stack, "backendPath", "services/backend")  # changes backend.yml's content

    with pytest.raises(auto.CommandError) as failed:
        w.stack.up(on_output=out)
    message = str(failed.value)
    assert "409" in message and path in message, message[-3000:]
    assert gh.repository(w.repo).git.file("develop", path) == (
        git_sha("blob", b"name: edited by hand\n"),
        b"name: edited by hand\n",
    )  # nothing overwritten

    w.stack.refresh(on_output=out)
    mark = gh.mark()
    w.stack.up(on_output=out)
    assert "repos/create-or-update-file-contents" in gh.counts(mark)
    written = gh.repository(w.repo).git.file("develop", path)
    assert written is not None
    content = written[1].decode()
    assert "services/backend" in content
    assert _changes(w.stack.up(on_output=out)) == {}
    w.assert_clean()
