"""Issue and pull-request comments on the fake GitHub over real HTTP: every answer checked against GitHub's
OpenAPI description (``gh.problems`` stays empty), state kept per repository, GitHub's paging and Link
header, its 404s and 422s (what workflows/scripts/pr_preview.py relies on for its one comment per PR)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.github import FakeGitHub
from tests.fakes.github.comments import MAX_COMMENT_CHARS
from tests.fakes.github.model import IssueComment, next_id, now

TOKEN = "test-github-token"
REPO = "mayassistant/maya"
PR = f"/repos/{REPO}/issues/12/comments"


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    with FakeGitHub(repos=[REPO, "mayassistant/other"], orgs=["mayassistant"], token=TOKEN) as fake:
        fake.add_issue(REPO, 12, pull_request=True)
        yield fake


@pytest.fixture
def api(gh: FakeGitHub) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-GitHub-Api-Version": "2022-11-28"}
    with httpx.Client(base_url=gh.url + "api/v3", headers=headers) as client:
        yield client


def _seed(gh: FakeGitHub, count: int, issue: int = 12) -> list[int]:
    """``count`` comments on ``issue`` written straight into the model (no HTTP: paging tests need many)."""
    repo = gh.repository(REPO)
    ids = []
    for n in range(count):
        comment = IssueComment(next_id(), issue, f"comment {n}", gh.login, now(), now())
        repo.comments[comment.id] = comment
        ids.append(comment.id)
    return ids


def test_a_comment_is_created_listed_edited_and_deleted_in_the_described_shape(
    gh: FakeGitHub, api: httpx.Client
) -> None:
    created = api.post(PR, json={"body": "<!-- marker -->\nhello"})
    assert created.status_code == 201
    comment = created.json()
    assert created.headers["Location"] == comment["url"]
    assert comment["url"].endswith(f"/api/v3/repos/{REPO}/issues/comments/{comment['id']}")
    assert comment["issue_url"].endswith(f"/api/v3/repos/{REPO}/issues/12")
    assert comment["html_url"].endswith(f"/{REPO}/pull/12#issuecomment-{comment['id']}")
    assert (comment["user"]["login"], comment["author_association"]) == ("maya-bot", "COLLABORATOR")
    assert [c["body"] for c in api.get(PR).json()] == ["<!-- marker -->\nhello"]
    url = f"/repos/{REPO}/issues/comments/{comment['id']}"
    edited = api.patch(url, json={"body": "<!-- marker -->\nbye"})
    assert edited.status_code == 200 and edited.json()["id"] == comment["id"]
    assert api.get(url).json()["body"] == "<!-- marker -->\nbye"
    assert gh.comments == {
        comment["id"]: {
            "id": comment["id"],
            "issue": f"{REPO}#12",
            "body": "<!-- marker -->\nbye",
            "user": "maya-bot",
            "created_at": comment["created_at"],
            "updated_at": edited.json()["updated_at"],
        }
    }
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404 and api.get(PR).json() == [] and gh.comments == {}
    assert gh.problems == []
    assert {r.operation_id for r in gh.requests} == {
        "issues/create-comment",
        "issues/list-comments",
        "issues/update-comment",
        "issues/get-comment",
        "issues/delete-comment",
    }


def test_paging_follows_per_page_and_page_with_a_link_header(gh: FakeGitHub, api: httpx.Client) -> None:
    ids = _seed(gh, 5)
    first = api.get(PR, params={"per_page": 2})
    assert [c["id"] for c in first.json()] == ids[:2]  # oldest first
    assert first.links["next"]["url"].endswith("comments?per_page=2&page=2")
    assert first.links["last"]["url"].endswith("comments?per_page=2&page=3")
    assert "prev" not in first.links
    middle = api.get(PR, params={"per_page": 2, "page": 2})
    assert [c["id"] for c in middle.json()] == ids[2:4]
    assert set(middle.links) == {"first", "prev", "next", "last"}
    last = api.get(middle.links["next"]["url"], headers={"Authorization": f"Bearer {TOKEN}"})
    assert [c["id"] for c in last.json()] == ids[4:] and "next" not in last.links
    assert api.get(PR, params={"per_page": 2, "page": 4}).json() == []  # past the end: empty, not an error
    assert [c["id"] for c in api.get(PR).json()] == ids and "link" not in api.get(PR).headers  # one page of 30
    assert gh.problems == []


def test_per_page_is_capped_at_a_hundred_as_on_github(gh: FakeGitHub, api: httpx.Client) -> None:
    ids = _seed(gh, 101)
    page = api.get(PR, params={"per_page": 500})
    assert [c["id"] for c in page.json()] == ids[:100]
    assert [c["id"] for c in api.get(PR, params={"per_page": 500, "page": 2}).json()] == ids[100:]
    assert gh.problems == []


def test_since_keeps_the_comments_updated_at_or_after_it(gh: FakeGitHub, api: httpx.Client) -> None:
    old, recent = _seed(gh, 2)
    gh.repository(REPO).comments[old].updated_at = "2020-01-01T00:00:00Z"
    assert [c["id"] for c in api.get(PR, params={"since": "2024-01-01T00:00:00Z"}).json()] == [recent]
    assert gh.problems == []


def test_comments_belong_to_their_issue_and_repository(gh: FakeGitHub, api: httpx.Client) -> None:
    gh.add_issue(REPO, 13)
    other_issue = api.post(f"/repos/{REPO}/issues/13/comments", json={"body": "on the issue"}).json()
    assert other_issue["html_url"].endswith(f"/{REPO}/issues/13#issuecomment-{other_issue['id']}")  # not /pull/
    assert api.get(PR).json() == []
    gh.add_issue("mayassistant/other", 12, pull_request=True)
    elsewhere = f"/repos/mayassistant/other/issues/comments/{other_issue['id']}"
    assert api.get(elsewhere).status_code == 404  # an id from another repository
    assert api.patch(elsewhere, json={"body": "x"}).status_code == 404
    assert gh.comments[other_issue["id"]]["body"] == "on the issue"
    assert gh.problems == []


def test_a_pull_request_that_does_not_exist_answers_404(gh: FakeGitHub, api: httpx.Client) -> None:
    assert api.get(f"/repos/{REPO}/issues/99/comments").status_code == 404
    assert api.post(f"/repos/{REPO}/issues/99/comments", json={"body": "x"}).status_code == 404
    assert api.patch(f"/repos/{REPO}/issues/comments/123", json={"body": "x"}).status_code == 404
    assert gh.comments == {} and gh.problems == []


def test_blank_and_oversized_bodies_are_validation_errors(gh: FakeGitHub, api: httpx.Client) -> None:
    blank = api.post(PR, json={"body": "  \n"})
    assert blank.status_code == 422
    assert blank.json()["errors"] == [
        {"resource": "IssueComment", "code": "custom", "field": "body", "message": "Body cannot be blank"}
    ]
    assert api.post(PR, json={"body": "x" * (MAX_COMMENT_CHARS + 1)}).status_code == 422
    created = api.post(PR, json={"body": "x" * MAX_COMMENT_CHARS})
    assert created.status_code == 201
    assert api.patch(f"/repos/{REPO}/issues/comments/{created.json()['id']}", json={"body": ""}).status_code == 422
    assert len(gh.comments) == 1 and gh.problems == []


def test_requests_the_description_does_not_allow_are_refused_naming_the_operation(
    gh: FakeGitHub, api: httpx.Client
) -> None:
    missing = api.post(PR, json={"text": "hello"})  # body is required
    assert missing.status_code == 422 and "issues/create-comment" in missing.json()["message"]
    not_a_number = api.get(f"/repos/{REPO}/issues/comments/abc")
    assert not_a_number.status_code == 422 and "issues/get-comment" in not_a_number.json()["message"]
    assert gh.comments == {}
    assert {p.split(":", 1)[0] for p in gh.problems} == {"issues/create-comment", "issues/get-comment"}


def test_add_issue_numbers_issues_and_pull_requests_from_one_sequence(gh: FakeGitHub) -> None:
    issue = gh.add_issue(REPO)
    assert issue.number == 13 and not issue.pull_request
    assert gh.add_issue(REPO, pull_request=True).number == 14
    assert gh.add_issue(REPO, 12).pull_request  # opening an existing number returns it unchanged
