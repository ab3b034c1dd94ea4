"""The blast-radius model in the config (docs/trust.md): each unsafe configuration is refused with one message
naming the key and one fix, before anything is declared."""

from __future__ import annotations

from typing import Any

import pytest

import config
from config import trust
from tests.components.program import run_program
from tests.config.test_model_and_load import _parse, _problems
from tests.secrets import TEST_CHECKLY_SECRETS, TEST_GITHUB_TOKEN, TEST_SECRETS, stack_secrets


def _with(stack: str, section: str, **values: Any) -> config.StackConfig:
    raw, _ = config.read_stack_file(stack)
    return _parse(stack, {f"maya-infra:{section}": {**raw.get(f"maya-infra:{section}", {}), **values}})


# ---- the GitHub write token lives in production's stack only -------------------------------------------------
def test_staging_holding_the_github_token_is_refused_with_one_message() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets={**TEST_SECRETS, "maya-infra:githubToken": TEST_GITHUB_TOKEN})
    problems = [p for p in exc.value.problems if p.key == "githubToken"]
    assert len(problems) == 1
    assert "only production holds it" in problems[0].message
    assert problems[0].fix.startswith("pulumi config rm maya-infra:githubToken --stack staging")
    assert TEST_GITHUB_TOKEN not in str(exc.value)


def test_staging_holding_the_github_token_in_plain_text_is_refused_not_told_to_encrypt_it() -> None:
    raw, _ = config.read_stack_file("staging")
    secrets = dict(TEST_SECRETS)
    with pytest.raises(config.ConfigError) as exc:
        config.parse("staging", {**raw, **secrets, "maya-infra:githubToken": TEST_GITHUB_TOKEN}, set(secrets))
    (problem,) = exc.value.problems
    assert problem.key == "githubToken" and "config rm" in problem.fix and "--secret" not in problem.fix


def test_tools_reading_only_the_stack_file_refuse_it_too(tmp_path: Any) -> None:
    text = (config.PROJECT_DIR / "Pulumi.staging.yaml").read_text()
    text = text.replace("config:\n", "config:\n  maya-infra:githubToken:\n    secure: v1:abc:def\n", 1)
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    with pytest.raises(config.ConfigError) as exc:
        config.load_from_stack_file("staging", tmp_path)
    assert [p.key for p in exc.value.problems] == ["githubToken"]


def test_production_needs_the_github_token_and_staging_does_not() -> None:
    assert _parse("staging").secret("githubToken") is None
    with pytest.raises(config.ConfigError) as exc:
        _parse("production", secrets={k: v for k, v in stack_secrets("production").items() if "github" not in k})
    assert "githubToken" in _problems(exc)


@pytest.mark.parametrize("key", ["githubToken", "railwayBackupToken"])
def test_staging_holding_a_production_only_credential_is_refused(key: str) -> None:
    """The backup bot's account token reaches production's Railway project (its volume backups): in staging's config
    an approved pull request's preview could decrypt it, like the GitHub write token."""
    value = "test-production-only-credential-5e1f"
    with pytest.raises(config.ConfigError) as exc:
        _parse("staging", secrets={**TEST_SECRETS, f"maya-infra:{key}": value})
    (problem,) = [p for p in exc.value.problems if p.key == key]
    assert "only production holds it" in problem.message and value not in str(exc.value)
    assert problem.fix.startswith(f"pulumi config rm maya-infra:{key} --stack staging")
    assert _parse(
        "production", secrets={**stack_secrets("production"), **TEST_CHECKLY_SECRETS, f"maya-infra:{key}": value}
    )


# ---- Railway workspaces and Vercel teams ---------------------------------------------------------------------
def _configs(**per_stack: dict[str, Any]) -> list[config.StackConfig]:
    out = []
    for stack in config.STACKS:
        cfg = config.load_from_stack_file(stack)
        for section, values in per_stack.get(stack, {}).items():
            cfg = cfg.model_copy(update={section: getattr(cfg, section).model_copy(update=values)})
        out.append(cfg)
    return out


def test_the_committed_stacks_are_confined() -> None:
    assert trust.confinement_problems(_configs()) == []


def test_one_shared_railway_workspace_is_refused() -> None:
    production = config.load_from_stack_file("production").railway.workspace_id
    (problem,) = trust.confinement_problems(_configs(staging={"railway": {"workspace_id": production}}))
    assert problem.key == "railway.workspaceId"
    assert "same Railway workspace" in problem.message and "staging's railwayToken would reach production" in (
        problem.message
    )
    assert problem.fix.startswith("pulumi config set --path 'maya-infra:railway.workspaceId'")
    assert problem.fix.endswith("--stack staging")


@pytest.mark.parametrize("stack", config.STACKS)
def test_a_stack_that_does_not_name_its_workspace_is_refused(stack: str) -> None:
    (problem,) = trust.confinement_problems(_configs(**{stack: {"railway": {"workspace_id": None}}}))
    assert problem.key == "railway.workspaceId" and f"stack {stack} does not name" in problem.message
    assert problem.fix.endswith(f"--stack {stack}")


def test_railway_left_out_of_a_stack_has_nothing_to_compare() -> None:
    configs = _configs(staging={"railway": {"workspace_id": None}})
    configs[0] = configs[0].model_copy(update={"platforms": frozenset({"github"})})
    assert trust.confinement_problems(configs) == []


def test_one_shared_vercel_team_is_refused_unless_stagings_token_is_project_scoped() -> None:
    team = config.load_from_stack_file("production").frontend.team_id
    (problem,) = trust.confinement_problems(_configs(staging={"frontend": {"team_id": team}}))
    assert problem.key == "frontend.teamId" and f"team {team}" in problem.message
    assert "tokenScope' project" in problem.fix
    scoped = _configs(staging={"frontend": {"team_id": team, "token_scope": "project"}})
    assert trust.confinement_problems(scoped) == []
    personal = _configs(staging={"frontend": {"team_id": None}}, production={"frontend": {"team_id": None}})
    assert "the same personal account" in trust.confinement_problems(personal)[0].message


def test_the_program_refuses_before_declaring_anything() -> None:
    from tests.components import program

    staging_workspace = config.load_from_stack_file("staging").railway.workspace_id
    with pytest.raises(config.ConfigError) as exc:
        run_program("production", {"maya-infra:railway": {"workspaceId": staging_workspace}})
    assert [p.key for p in exc.value.problems] == ["railway.workspaceId"]
    assert program.LAST_MOCKS is not None and program.LAST_MOCKS.resources == []


# ---- who approves what ---------------------------------------------------------------------------------------
def test_production_infra_updates_need_a_reviewer() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _with("production", "infra", reviewers=[])
    assert "must wait for a reviewer" in _problems(exc)["infra.reviewers"].message


def test_production_is_never_previewed_on_a_pull_request() -> None:
    reviewer = {"kind": "team", "id": 4218002, "name": "maya-infra-maintainers"}
    with pytest.raises(config.ConfigError) as exc:
        _with("production", "infra", pullRequestReviewers=[reviewer])
    assert "never previewed on a pull request" in _problems(exc)["infra.pullRequestReviewers"].message


def test_previews_without_reviewers_are_refused() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _with("staging", "previews", reviewers=[])
    assert "write-capable tokens" in _problems(exc)["previews.reviewers"].message
    assert not _with("staging", "previews", reviewers=[], enabled=False).previews_active


def test_classic_branch_protection_is_refused_its_checks_cannot_name_github_actions() -> None:
    with pytest.raises(config.ConfigError) as exc:
        _with("production", "github", protection="branch_protection")
    assert "cannot require that a check comes from GitHub Actions" in _problems(exc)["github.protection"].message


def test_production_without_stagings_hand_off_stops_in_one_line_before_declaring_anything(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing hand-off stops production's program before its first resource: a failed `up` then has created
    nothing and deletes nothing (staging's GitHub values stay where they are)."""
    import pulumi

    from tests.components import program

    monkeypatch.setenv("MAYA_HANDOFF_DIR", str(tmp_path))  # an empty folder: no staging.json
    with pytest.raises(pulumi.RunError) as stopped:
        run_program("production")
    message = str(stopped.value)
    assert message.startswith("the hand-off of stack staging is missing") and "\n" not in message
    assert "python -m ops handoff --stack production" in message
    assert program.LAST_MOCKS is not None and program.LAST_MOCKS.resources == []
