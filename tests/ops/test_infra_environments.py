"""``python -m ops infra-environments`` against the fake GitHub (every request and answer checked against GitHub's
OpenAPI description): it compares without writing, converges with ``--apply``, then finds nothing to do; it
removes a branch pattern added by hand and names the secrets an admin still has to set."""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from ops import infra_environments as command
from ops.console import Streams
from tests.engine.github_world import TEAMS, USERS
from tests.fakes.github import FakeGitHub

REPO = "mayassistant/maya-infra"
TOKEN = "test-admin-token-2b9e"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(orgs=["mayassistant"], repos=[REPO], users=USERS, teams=TEAMS, token=TOKEN) as fake:
        yield fake


def _run(github: FakeGitHub, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    parser = __import__("ops.__main__", fromlist=["build_parser"]).build_parser()
    parsed = parser.parse_args(["infra-environments", *args])
    env = {"GITHUB_TOKEN": TOKEN, "MAYA_GITHUB_API_URL": github.url}
    code = parsed.handler(parsed, Streams(env=env, out=out, err=err))
    return code, out.getvalue(), err.getvalue()


def _writes(github: FakeGitHub, mark: int) -> list[Any]:
    return [r for r in github.since(mark) if r.method in WRITES]


def test_compare_apply_then_nothing_to_do(github: FakeGitHub) -> None:
    mark = github.mark()
    code, out, _ = _run(github)
    assert code == command.DIFFERS and "differences found" in out
    assert _writes(github, mark) == [], "without --apply it only reads"

    code, out, err = _run(github, "--apply")
    assert code == 0, err
    assert github.problems == [] and github.leaks == []
    repository = github.repository(REPO)
    assert set(repository.environments) == {
        "staging-plan",
        "staging",
        "staging-pr-preview",
        "production-plan",
        "production",
    }
    production = repository.environments["production"]
    assert sorted(production.reviewers) == [("Team", TEAMS["mayassistant/maya-release-managers"]), ("User", 1920301)]
    assert production.prevent_self_review is True and production.can_admins_bypass is False
    assert production.branch_policy == (False, True) and [p.name for p in production.policies.values()] == ["main"]
    plan = repository.environments["production-plan"]
    assert plan.reviewers == [] and [p.name for p in plan.policies.values()] == ["main"]
    staging_plan = repository.environments["staging-plan"]  # the drift schedule runs on main, on develop's code
    assert sorted(p.name for p in staging_plan.policies.values()) == ["develop", "main"]
    pr = repository.environments["staging-pr-preview"]
    assert pr.branch_policy is None, "a pull request's branch may use it: its reviewers gate every run"
    assert pr.reviewers == [("Team", TEAMS["mayassistant/maya-infra-maintainers"])] and pr.prevent_self_review
    # the secrets an admin still has to set, with the command (values never pass through this tool)
    assert "secret STAGING_PULUMI_CONFIG_PASSPHRASE is not set: gh secret set STAGING_PULUMI_CONFIG_PASSPHRASE" in out
    assert f"--env production --repo {REPO}" in out

    mark = github.mark()
    code, out, _ = _run(github, "--apply")
    assert code == 0 and _writes(github, mark) == [], "a second run writes nothing"
    assert out.count(" matches ") == 5


def test_a_branch_pattern_added_by_hand_is_removed_and_reviewers_restored(github: FakeGitHub) -> None:
    assert _run(github, "--apply")[0] == 0
    github.add_environment(REPO, "production", reviewers=[], branches=["main", "release/*"], can_admins_bypass=True)
    code, out, _ = _run(github)
    assert code == command.DIFFERS
    assert "branch patterns: ['main', 'release/*'] -> ['main']" in out and "admins may bypass" in out
    assert _run(github, "--apply")[0] == 0
    production = github.repository(REPO).environments["production"]
    assert [p.name for p in production.policies.values()] == ["main"] and production.reviewers
    assert production.can_admins_bypass is False
    assert github.problems == []


def test_without_a_token_or_a_repository_one_line(github: FakeGitHub) -> None:
    out, err = io.StringIO(), io.StringIO()
    parser = __import__("ops.__main__", fromlist=["build_parser"]).build_parser()
    parsed = parser.parse_args(["infra-environments"])
    assert parsed.handler(parsed, Streams(env={"MAYA_GITHUB_API_URL": github.url}, out=out, err=err)) == 2
    assert err.getvalue().startswith("ops infra-environments: GITHUB_TOKEN is not set")
    github.repos.pop(REPO.lower())
    code, _, err_text = _run(github)
    assert code == 2 and f"repository {REPO} not found" in err_text and "Traceback" not in err_text


def test_self_review_allowed_by_hand_is_found_and_prevented_again(github: FakeGitHub) -> None:
    """Only the self-review switch changed (reviewers, branches and bypass as the table says): the author of a
    change could approve its own production update, so the compare must see it and --apply restore it."""
    assert _run(github, "--apply")[0] == 0
    production = github.repository(REPO).environments["production"]
    github.add_environment(
        REPO, "production", reviewers=production.reviewers, branches=["main"], prevent_self_review=False
    )
    code, out, _ = _run(github)
    assert code == command.DIFFERS and "prevent self-review: False -> True" in out
    assert _run(github, "--apply")[0] == 0
    assert github.repository(REPO).environments["production"].prevent_self_review is True
    assert github.problems == []


def test_ctrl_c_during_apply_says_which_environments_were_changed(
    github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C between two environments of --apply (issue 27): the line names those already converged and the
    one under way, never "nothing was changed"."""
    from ops.__main__ import main

    converge = command.converge_one
    seen: list[str] = []

    def interrupted_at_the_third(gh: Any, repo: str, environment: Any, apply: bool) -> Any:
        seen.append(environment.name)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return converge(gh, repo, environment, apply)

    monkeypatch.setattr(command, "converge_one", interrupted_at_the_third)
    err = io.StringIO()
    env = {"GITHUB_TOKEN": TOKEN, "MAYA_GITHUB_API_URL": github.url}
    handler = signal.getsignal(signal.SIGINT)
    assert main(["infra-environments", "--apply"], Streams(env=env, out=io.StringIO(), err=err)) == 130
    # the caller's handler is back: an ignored SIGINT would be inherited by every process it starts later
    assert signal.getsignal(signal.SIGINT) is handler
    (line,) = err.getvalue().strip().splitlines()
    assert line.startswith("ops infra-environments: interrupted (Ctrl-C); already started on the platform")
    assert f"GitHub environment {seen[0]} converged; GitHub environment {seen[1]} converged" in line
    assert f"GitHub environment {seen[2]} of {REPO} being converged (sent: the platform may be doing it)" in line
    assert "`python -m ops infra-environments` shows its progress" in line
