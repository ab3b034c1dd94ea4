"""The fake GitHub over real HTTP: it answers only what GitHub's OpenAPI description describes, refuses
what does not match it (naming the operation), keeps real libsodium keys and git SHAs, and injects the
faults the engine tests rely on."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from nacl.public import PrivateKey, PublicKey, SealedBox

from tests.fakes.github import FakeGitHub, Fault
from tests.fakes.github.model import git_sha

TOKEN = "test-github-token"
ENV = "/repos/mayassistant/maya/environments/staging"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(
        repos=["mayassistant/maya"],
        users={"maya-oncall-lead": 1920301},
        teams={"mayassistant/maya-release-managers": 4218001},
        token=TOKEN,
        watch=["plaintext-secret-value"],
    ) as fake:
        yield fake


@pytest.fixture
def api(gh: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gh.url + "api/v3", headers={"Authorization": f"token {TOKEN}"}) as client:
        yield client


def _seal(public_key_b64: str, plaintext: bytes) -> str:
    return base64.b64encode(SealedBox(PublicKey(base64.b64decode(public_key_b64))).encrypt(plaintext)).decode()


def _environment(api: httpx.Client, **body: object) -> httpx.Response:
    payload = {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}, **body}
    return api.put(ENV, json=payload)


def test_environment_with_reviewers_round_trips_in_the_described_shape(gh: FakeGitHub, api: httpx.Client) -> None:
    reviewers = [{"type": "Team", "id": 4218001}, {"type": "User", "id": 1920301}]
    created = _environment(api, wait_timer=5, prevent_self_review=True, reviewers=reviewers, can_admins_bypass=False)
    assert created.status_code == 200
    got = api.get(ENV).json()
    rules = {r["type"]: r for r in got["protection_rules"]}
    assert rules["wait_timer"]["wait_timer"] == 5
    assert [r["reviewer"]["id"] for r in rules["required_reviewers"]["reviewers"]] == [4218001, 1920301]
    assert got["can_admins_bypass"] is False
    assert gh.problems == []
    put = next(r for r in gh.requests if r.operation_id == "repos/create-or-update-environment")
    assert put.deviations and "can_admins_bypass" in put.deviations[0]  # counted, not silently accepted


def test_unknown_reviewer_and_same_valued_branch_policy_are_refused(api: httpx.Client) -> None:
    assert _environment(api, reviewers=[{"type": "User", "id": 42}]).status_code == 422
    both = {"protected_branches": True, "custom_branch_policies": True}
    assert api.put(ENV, json={"deployment_branch_policy": both}).status_code == 422


def test_only_a_value_sealed_with_the_environments_key_is_accepted(gh: FakeGitHub, api: httpx.Client) -> None:
    _environment(api)
    repo_id = api.get("/repos/mayassistant/maya").json()["id"]
    key = api.get(f"/repositories/{repo_id}/environments/staging/secrets/public-key").json()
    other = base64.b64encode(SealedBox(PrivateKey.generate().public_key).encrypt(b"x")).decode()
    secret_url = f"/repositories/{repo_id}/environments/staging/secrets/X"
    assert api.put(secret_url, json={"key_id": key["key_id"], "encrypted_value": other}).status_code == 422
    assert api.put(secret_url, json={"key_id": "1", "encrypted_value": _seal(key["key"], b"v")}).status_code == 422
    body = {"key_id": key["key_id"], "encrypted_value": _seal(key["key"], b"hello")}
    assert api.put(secret_url, json=body).status_code == 201
    assert api.put(secret_url, json=body).status_code == 204  # an update
    assert gh.decrypt_secret("mayassistant/maya", "staging", "X") == "hello"
    assert api.get(secret_url).json()["name"] == "X"


def test_a_plaintext_secret_in_a_request_is_refused_and_recorded(gh: FakeGitHub, api: httpx.Client) -> None:
    _environment(api)
    sent = api.post(f"{ENV}/variables", json={"name": "LEAK", "value": "plaintext-secret-value"})
    assert sent.status_code == 400
    assert gh.leaks == ["actions/create-environment-variable: plai…"]
    assert "plaintext-secret-value" not in str(gh.leaks)


def test_undescribed_unimplemented_and_invalid_requests_fail_naming_the_operation(
    gh: FakeGitHub, api: httpx.Client
) -> None:
    nowhere = api.get("/repos/mayassistant/maya/nothing-like-this")
    assert nowhere.status_code == 501 and "not described" in nowhere.json()["message"]
    pulls = api.get("/repos/mayassistant/maya/pulls")
    assert pulls.status_code == 501 and "pulls/list" in pulls.json()["message"]
    invalid = api.put(ENV, json={"wait_timer": "soon"})
    assert invalid.status_code == 422
    assert "repos/create-or-update-environment" in invalid.json()["message"]
    assert "wait_timer" in invalid.json()["message"]
    assert len(gh.problems) >= 3


@pytest.mark.parametrize(
    "wrong",
    [
        lambda repo: {k: v for k, v in repo.items() if k != "full_name"},  # a required field missing
        lambda repo: {**repo, "id": "not-a-number"},  # a field of the wrong type
    ],
    ids=["missing-field", "wrong-type"],
)
def test_an_answer_of_the_fake_that_does_not_match_github_s_description_is_refused(
    gh: FakeGitHub, api: httpx.Client, wrong: Any
) -> None:
    """The fake's answers are checked too: a fake drifting from GitHub would make the provider's tests pass
    against a GitHub that does not exist. Its own wrong answer is a 501 naming the operation, and recorded."""
    real = gh._handlers["repos/get"]
    assert api.get("/repos/mayassistant/maya").status_code == 200 and gh.problems == []
    gh._handlers["repos/get"] = lambda ctx: (lambda status, repo: (status, wrong(repo)))(*real(ctx))
    answer = api.get("/repos/mayassistant/maya")
    assert answer.status_code == 501, answer.text
    assert "fake GitHub bug: its repos/get answer does not match the description" in answer.json()["message"]
    assert gh.problems and all("repos/get" in problem for problem in gh.problems)


def test_ruleset_answers_304_to_its_own_etag(api: httpx.Client) -> None:
    body = {
        "name": "maya-infra staging: develop",
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": ["refs/heads/develop"], "exclude": []}},
        "rules": [{"type": "deletion"}, {"type": "non_fast_forward"}],
    }
    created = api.post("/repos/mayassistant/maya/rulesets", json=body)
    assert created.status_code == 201
    url = f"/repos/mayassistant/maya/rulesets/{created.json()['id']}"
    assert api.get(url, headers={"If-None-Match": created.headers["ETag"]}).status_code == 304
    assert api.put(url, json={**body, "enforcement": "evaluate"}).status_code == 200
    assert api.get(url, headers={"If-None-Match": created.headers["ETag"]}).status_code == 200  # changed since
    assert api.post("/repos/mayassistant/maya/rulesets", json=body).status_code == 422  # names are unique


def test_contents_keep_git_shas_and_refuse_a_stale_blob(gh: FakeGitHub, api: httpx.Client) -> None:
    url = "/repos/mayassistant/maya/contents/.github/workflows/ci.yml"
    who = {"name": "maya-infra", "email": "maya-infra@users.noreply.github.com"}
    first = {"message": "add", "content": base64.b64encode(b"on: push\n").decode(), "branch": "develop"}
    created = api.put(url, json={**first, "committer": who, "author": who})
    assert created.status_code == 201
    blob = created.json()["content"]["sha"]
    assert blob == git_sha("blob", b"on: push\n")
    assert api.get(url, params={"ref": "develop"}).json()["sha"] == blob
    assert api.get(url, params={"ref": "main"}).status_code == 404  # only on its branch
    gh.commit_out_of_band("mayassistant/maya", "develop", ".github/workflows/ci.yml", "on: pull_request\n")
    stale = api.put(url, json={**first, "sha": blob, "message": "update"})
    assert stale.status_code == 409  # the branch moved under the writer
    commit = api.get(f"/repos/mayassistant/maya/commits/{created.json()['commit']['sha']}")
    assert commit.status_code == 200 and commit.json()["commit"]["message"] == "add"
    assert gh.problems == []


def test_git_blob_sha_is_gits() -> None:
    assert git_sha("blob", b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object`


def test_faults_secondary_rate_limit_and_5xx_after_the_write(gh: FakeGitHub, api: httpx.Client) -> None:
    gh.inject(Fault("repos/get", 403, retry_after=2))
    limited = api.get("/repos/mayassistant/maya")
    assert limited.status_code == 403 and limited.headers["Retry-After"] == "2"
    assert limited.json()["documentation_url"].endswith("secondary-rate-limits")  # how go-github recognises it
    assert api.get("/repos/mayassistant/maya").status_code == 200
    gh.inject(Fault("repos/create-or-update-environment", 502, after_write=True))
    assert _environment(api).status_code == 502
    assert gh.environment("mayassistant/maya", "staging") is not None  # it landed; the caller cannot know
    assert [r.fault for r in gh.requests if r.fault] == ["403", "502 after the write"]


def test_wrong_token_is_401(gh: FakeGitHub) -> None:
    answer = httpx.get(gh.url + "api/v3/user", headers={"Authorization": "token nope"})
    assert answer.status_code == 401


def test_commit_lists_the_files_it_changed_for_file_import(gh: FakeGitHub, api: httpx.Client) -> None:
    """Importing a file (adoption) finds its commit through the commit list and each commit's files."""
    sha = gh.commit_out_of_band("mayassistant/maya", "develop", ".github/workflows/backend.yml", "on: push\n")
    listed = api.get(
        "/repos/mayassistant/maya/commits", params={"sha": "develop", "path": ".github/workflows/backend.yml"}
    )
    assert [c["sha"] for c in listed.json()] == [sha]
    files = api.get(f"/repos/mayassistant/maya/commits/{sha}").json()["files"]
    assert [(f["filename"], f["status"]) for f in files] == [(".github/workflows/backend.yml", "added")]
    assert gh.problems == []
