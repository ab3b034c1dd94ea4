"""The fake GitHub's seeding helpers (``add_environment``, ``add_ruleset``, ``add_file``) build the running
MAYA's objects in the fake's own model, so the adoption reads see them through the described API exactly as
objects the program itself wrote: reviewers, branch policies, sealed secrets, a ruleset on the branch, and a
file whose sha is git's."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.github.model import git_sha

REPO = "mayassistant/maya"
ENV = f"/repos/{REPO}/environments/staging"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(orgs=["mayassistant"]) as fake:  # no repository yet: seeding creates it
        yield fake


@pytest.fixture
def api(gh: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gh.url + "api/v3", headers={"Authorization": "token t"}) as client:
        yield client


def test_a_seeded_environment_reads_back_with_reviewers_policies_secrets_and_variables(
    gh: FakeGitHub, api: httpx.Client
) -> None:
    gh.add_environment(
        REPO,
        "staging",
        reviewers=[("Team", 4218001), ("User", 1920301)],
        secrets=["RAILWAY_TOKEN"],
        variables={"API_URL": "https://api.staging.mayassistant.com"},
        prevent_self_review=True,
        can_admins_bypass=False,
        branches=["develop"],
        wait_timer=5,
    )
    got = api.get(ENV).json()
    rules = {r["type"]: r for r in got["protection_rules"]}
    assert [(r["type"], r["reviewer"]["id"]) for r in rules["required_reviewers"]["reviewers"]] == [
        ("Team", 4218001),
        ("User", 1920301),
    ]
    assert rules["required_reviewers"]["prevent_self_review"] is True
    assert rules["wait_timer"]["wait_timer"] == 5
    assert got["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    policies = api.get(f"{ENV}/deployment-branch-policies").json()["branch_policies"]
    assert [p["name"] for p in policies] == ["develop"]
    secrets = api.get(f"{ENV}/secrets").json()["secrets"]
    assert [s["name"] for s in secrets] == ["RAILWAY_TOKEN"] and "value" not in secrets[0]
    assert gh.decrypt_secret(REPO, "staging", "RAILWAY_TOKEN")  # sealed with the environment's own key
    variables = api.get(f"{ENV}/variables").json()["variables"]
    assert [(v["name"], v["value"]) for v in variables] == [("API_URL", "https://api.staging.mayassistant.com")]
    assert gh.problems == []
    assert all(r.method == "GET" for r in gh.requests)


def test_without_branches_any_branch_may_deploy(gh: FakeGitHub, api: httpx.Client) -> None:
    gh.add_environment(REPO, "staging")
    got = api.get(ENV).json()
    assert got["deployment_branch_policy"] is None and got["protection_rules"] == []
    assert gh.problems == []


def test_a_seeded_ruleset_covers_its_branch_and_names_stay_unique(gh: FakeGitHub, api: httpx.Client) -> None:
    ruleset_id = gh.add_ruleset(REPO, "maya-infra staging: develop", "develop")
    listed = api.get(f"/repos/{REPO}/rulesets").json()
    assert [r["id"] for r in listed] == [ruleset_id]
    one = api.get(f"/repos/{REPO}/rulesets/{ruleset_id}").json()
    assert one["conditions"]["ref_name"]["include"] == ["refs/heads/develop"]
    assert one["enforcement"] == "active" and {r["type"] for r in one["rules"]} == {"deletion", "non_fast_forward"}
    with pytest.raises(ValueError, match="already has a ruleset"):
        gh.add_ruleset(REPO, "maya-infra staging: develop", "develop")
    assert gh.problems == []


def test_a_seeded_file_is_a_commit_on_its_branch_with_gits_blob_sha(gh: FakeGitHub, api: httpx.Client) -> None:
    content = "name: backend\non: push\n"
    commit = gh.add_file(REPO, ".github/workflows/backend.yml", "release", content)  # new branch, off main
    got = api.get(f"/repos/{REPO}/contents/.github/workflows/backend.yml", params={"ref": "release"}).json()
    assert base64.b64decode(got["content"]).decode() == content
    assert got["sha"] == git_sha("blob", content.encode())
    assert gh.repository(REPO).git.branches["release"] == commit
    missing = api.get(f"/repos/{REPO}/contents/.github/workflows/backend.yml", params={"ref": "main"})
    assert missing.status_code == 404  # committed on its branch only
    assert gh.problems == []
