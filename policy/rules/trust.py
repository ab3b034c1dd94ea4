"""The blast-radius rules of the pack (docs/trust.md): no credential a pull request or staging can reach can
change production.

* ``github-written-by-production-only`` — GitHub grants per repository, never per environment: only
  production's stack declares GitHub resources and holds the token that writes them.
* ``stacks-in-separate-accounts`` — staging's Railway token and Vercel token cannot reach production's
  projects: each stack names its own Railway workspace, and its own Vercel team (or staging's token is
  project-scoped).
* ``handed-off-half-is-the-other-stacks`` — what production declares for another stack (from its hand-off)
  sits in that stack's environments and branch only, carries none of production's platform credentials, and
  keeps that branch protected; nothing of the other stack's is declared outside the hand-off.
* ``pull-request-secrets-wait-for-a-reviewer`` — a GitHub environment holding secrets that any branch (and so
  any pull request) may use has required reviewers who cannot approve their own run.
* ``required-checks-from-github-actions`` — every required check names GitHub Actions (app 15368), so a
  commit status of the same name from anyone with write access does not satisfy it.

All are mandatory: the config model already guarantees each (config/trust.py, config/model.py), so a
violation means the code and the guard drifted apart. Registered with the others in :mod:`policy.rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from config import envvars
from config.model import GITHUB_ACTIONS_APP_ID, StackConfig
from config.trust import confinement_problems
from policy.rules.model import (
    ALERTS_SUFFIX,
    GH_BRANCH_POLICY,
    GH_BRANCH_PROTECTION,
    GH_BRANCH_PROTECTION_V3,
    GH_ENV_SECRET,
    GH_ENV_VARIABLE,
    GH_ENVIRONMENT,
    GH_FILE,
    GH_RULESET,
    PREVIEW_ENVIRONMENT,
    RAILWAY_PROJECT,
    SCAN_SUFFIX,
    UNKNOWN,
    Resource,
    StackFacts,
    _text,
    is_handed_off,
)
from policy.rules.ownership import _ruleset_covers

GITHUB_PROVIDER = "pulumi:providers:github"
VERCEL_PROVIDER = "pulumi:providers:vercel"
#: Where a GitHub resource sits: environment-scoped ones by ``environment``, files and policies by branch.
_ENVIRONMENT_SCOPED = (GH_ENVIRONMENT, GH_BRANCH_POLICY, GH_ENV_SECRET, GH_ENV_VARIABLE)


def _short(r: Resource) -> str:
    return f"{r.type.rsplit(':', 1)[-1]} {r.name}"


# ---- github-written-by-production-only ---------------------------------------------------------------------------
def github_written_by_production_only(
    resources: Sequence[Resource], facts: StackFacts
) -> Iterator[tuple[str, str | None]]:
    """Only production declares GitHub resources and holds the GitHub token."""
    if facts.stack == "production":
        return
    why = (
        "the repository's settings are production's and written by its approved pipeline only (a GitHub token "
        "can change every environment of the repository); staging hands its values over (docs/trust.md)"
    )
    for r in resources:
        if r.type.startswith("github:") or r.type == GITHUB_PROVIDER:
            yield f"stack {facts.stack!r} declares {_short(r)}: {why}", r.urn
    if facts.own is not None and "githubToken" in facts.own.declared_secrets:
        yield f"stack {facts.stack!r} holds maya-infra:githubToken: {why}", None


# ---- stacks-in-separate-accounts ------------------------------------------------------------------------------------
def _pair(facts: StackFacts) -> tuple[StackConfig, StackConfig] | None:
    """(production's config, the other stack's) when both are known."""
    if facts.own is None or facts.other is None:
        return None
    own, other = facts.own, facts.other
    return (own, other) if own.is_production else (other, own)


def stacks_in_separate_accounts(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """Each stack's Railway project in its own workspace, its Vercel project in its own team (or a project token)."""
    pair = _pair(facts)
    if pair is None:
        return
    production, staging = pair
    problems = confinement_problems([production, staging])
    for problem in problems:
        yield f"{problem.key}: {problem.message} (fix: {problem.fix})", None
    if problems:
        return  # one message per unsafe setting; the resources below follow the config
    other = facts.other
    assert other is not None
    for r in resources:
        if r.type == RAILWAY_PROJECT:
            workspace = r.get("workspace_id", "workspaceId")
            if workspace is UNKNOWN:
                continue
            if not workspace:
                yield (
                    f"Railway project {r.get('name')!r} names no workspace: it lands in the token's default one",
                    r.urn,
                )
            elif "railway" in other.platforms and workspace == other.railway.workspace_id:
                yield (
                    f"Railway project {r.get('name')!r} is created in stack {other.stack}'s workspace {workspace}",
                    r.urn,
                )
        elif r.type == VERCEL_PROVIDER and "vercel" in other.platforms and not _project_scoped(staging):
            team = r.get("team")
            if isinstance(team, str) and team == other.frontend.team_id:
                yield f"the Vercel provider of stack {facts.stack} acts in stack {other.stack}'s team {team}", r.urn


def _project_scoped(cfg: StackConfig) -> bool:
    return cfg.frontend.token_scope == "project"  # noqa: S105 (a token's scope, not a password)


# ---- handed-off-half-is-the-other-stacks ---------------------------------------------------------------------------
def _environments_of(cfg: StackConfig) -> set[str]:
    """The GitHub environments a stack's half consists of."""
    names = {cfg.environment, cfg.environment + SCAN_SUFFIX}  # the deploy jobs', the scanners'
    if cfg.monitoring is not None:
        names.add(cfg.environment + ALERTS_SUFFIX)
    if cfg.previews_active:
        names.add(PREVIEW_ENVIRONMENT)
    return names


def _belongs_to(r: Resource, environments: set[str], branch: str) -> bool:
    """Does a GitHub resource sit in one of ``environments`` or on ``branch``?"""
    if r.type in _ENVIRONMENT_SCOPED:
        environment = _text(r.get("environment"))
        if environment in environments:
            return True
    if r.type == GH_FILE and _text(r.get("branch")) == branch:
        return True
    if r.type == GH_RULESET:
        return any(f"refs/heads/{branch}" == p for p in _ruleset_includes(r))
    return False


def _ruleset_includes(r: Resource) -> list[str]:
    ref_name = (r.get("conditions") or {}).get("refName") or {}
    return [p for p in ref_name.get("includes") or [] if isinstance(p, str)]


#: The GitHub secrets that act on a platform (the variable table's secret Railway and Vercel rows: project tokens,
#: deploy tokens, the previews' tokens, the bypass). A shared scanner key or SMTP account may serve both stacks;
#: production's platform credentials must never reach staging's environments.
PLATFORM_CREDENTIALS = frozenset(v.name for v in envvars.TABLE if v.secret and v.platform in ("railway", "vercel"))


def _secret_values(resources: Iterable[Resource]) -> dict[str, str]:
    """Plaintext value -> name of production's platform credentials, where the pack sees plaintext (a state shows
    them as SECRET, so the audit cannot compare them)."""
    out = {}
    for r in resources:
        value, name = r.get("value", "plaintextValue"), str(r.get("secretName") or "")
        if r.type == GH_ENV_SECRET and name in PLATFORM_CREDENTIALS and isinstance(value, str) and value:
            out[value] = name
    return out


def handed_off_half_is_the_other_stacks(
    resources: Sequence[Resource], facts: StackFacts
) -> Iterator[tuple[str, str | None]]:
    """Production declares another stack's GitHub objects from its hand-off only, in that stack's places only,
    with none of production's secret values, and keeps that stack's branch protected with its checks."""
    if facts.stack != "production" or facts.other is None or "github" not in facts.other.platforms:
        return
    other = facts.other
    theirs, branch = _environments_of(other), other.github.branch
    github = [r for r in resources if r.type.startswith("github:")]
    handed = [r for r in github if is_handed_off(r)]
    own = [r for r in github if not is_handed_off(r)]
    for r in own:
        if _belongs_to(r, theirs, branch):
            yield (
                f"{_short(r)} sits in stack {other.stack}'s GitHub environment or branch but is not declared from "
                f"its hand-off (components/handoff.py): production would write {other.stack}'s settings with its "
                "own values",
                r.urn,
            )
    for r in handed:
        if not _belongs_to(r, theirs, branch):
            yield (
                f"{_short(r)} is declared from {other.stack}'s hand-off but sits outside {other.stack}'s places",
                r.urn,
            )
    production_values = _secret_values(r for r in own if _text(r.get("environment")) not in theirs)
    for r in handed:
        value = r.get("value", "plaintextValue")
        if r.type == GH_ENV_SECRET and isinstance(value, str) and value in production_values:
            yield (
                f"{other.stack}'s secret {r.get('secretName')} in {r.get('environment')!r} holds the value of "
                f"production's {production_values[value]}: a credential of production would reach {other.stack}",
                r.urn,
            )
    if handed:
        yield from _handed_branch_protected(handed, other)


def _handed_branch_protected(handed: Sequence[Resource], other: StackConfig) -> Iterator[tuple[str, str | None]]:
    wanted = set(other.required_status_checks)
    for repo in other.github.repositories:
        covered, required = False, set[str]()
        for r in handed:
            if r.type == GH_RULESET and _text(r.get("repository")) == repo:
                is_covered, checks = _ruleset_covers(r, other.github.branch)
                covered, required = covered or is_covered, required | (checks if is_covered else set())
        if not covered:
            yield (
                f"branch {other.github.branch!r} of {repo} ({other.stack}) is not protected by an active ruleset",
                None,
            )
        elif wanted - required:
            missing = sorted(wanted - required)
            yield f"branch {other.github.branch!r} of {repo} ({other.stack}) does not require {missing}", None


# ---- pull-request-secrets-wait-for-a-reviewer ----------------------------------------------------------------------
def _reviewer_ids(r: Resource) -> list[Any]:
    return [
        i
        for rv in r.get("reviewers") or []
        if isinstance(rv, Mapping)
        for i in [*(rv.get("users") or []), *(rv.get("teams") or [])]
    ]


def _any_branch(r: Resource) -> bool | None:
    """True when any branch may use the environment (so a pull request from any branch can); None: not known."""
    policy = r.get("deploymentBranchPolicy", "deployment_branch_policy")
    if policy is UNKNOWN:
        return None
    if isinstance(policy, list):  # the provider's block, as some serializations give it
        policy = policy[0] if policy else None
    if not isinstance(policy, Mapping):
        return True
    restricted = (
        policy.get("customBranchPolicies", policy.get("custom_branch_policies")) is True
        or policy.get("protectedBranches", policy.get("protected_branches")) is True
    )
    return not restricted


def pull_request_secrets_wait_for_a_reviewer(
    resources: Sequence[Resource], facts: StackFacts
) -> Iterator[tuple[str, str | None]]:
    """An environment that holds secrets and admits every branch waits for a reviewer who is not the author.

    A pull request can edit the workflow that names the environment; only the environment's protection keeps
    its secrets: a branch restriction (a pull request's branch is never one of the named branches) or required
    reviewers who approve the run.
    """
    holding: dict[tuple[str | None, str | None], list[str]] = {}
    for r in resources:
        if r.type == GH_ENV_SECRET:
            key = (_text(r.get("repository")), _text(r.get("environment")))
            holding.setdefault(key, []).append(str(r.get("secretName") or r.name))
    for r in resources:
        if r.type != GH_ENVIRONMENT:
            continue
        key = (_text(r.get("repository")), _text(r.get("environment")))
        if key not in holding or _any_branch(r) is not True:
            continue
        reviewers = r.get("reviewers")
        names = ", ".join(sorted(holding[key]))
        if reviewers is not UNKNOWN and not _reviewer_ids(r):
            yield (
                f"GitHub environment {key[1]!r} of {key[0]} holds {names} and admits every branch, so any pull request "
                "can run a workflow that reads them: give it required reviewers (e.g. maya-infra:previews.reviewers) "
                "or restrict it to the stack's branch",
                r.urn,
            )
        elif r.get("preventSelfReview", "prevent_self_review") is False:
            yield (
                f"GitHub environment {key[1]!r} of {key[0]} holds {names} for any branch, and whoever opened the pull "
                "request may approve their own run (set preventSelfReview)",
                r.urn,
            )


# ---- required-checks-from-github-actions ---------------------------------------------------------------------------
def required_checks_from_github_actions(r: Resource) -> Iterator[str]:
    """Every required status check names GitHub Actions (``integration_id`` 15368)."""
    if r.type == GH_RULESET:
        rules = r.get("rules") or {}
        status = rules.get("requiredStatusChecks") if isinstance(rules, Mapping) else None
        checks = (status or {}).get("requiredChecks") if isinstance(status, Mapping) else None
        for check in checks or []:
            if not isinstance(check, Mapping) or check.get("integrationId") is UNKNOWN:
                continue
            if check.get("integrationId", check.get("integration_id")) != GITHUB_ACTIONS_APP_ID:
                yield (
                    f"ruleset {r.get('name')!r}: required check {check.get('context')!r} does not name GitHub Actions "
                    f"(integration_id {GITHUB_ACTIONS_APP_ID}): a commit status of that name from anyone with write "
                    "access would satisfy it"
                )
    elif r.type in (GH_BRANCH_PROTECTION, GH_BRANCH_PROTECTION_V3):
        blocks = r.get("requiredStatusChecks", "required_status_checks")
        for block in blocks if isinstance(blocks, list) else [blocks] if isinstance(blocks, Mapping) else []:
            contexts = [c for c in (block or {}).get("contexts") or [] if isinstance(c, str)]
            unpinned = [
                c for c in (block or {}).get("checks") or [] if not str(c).endswith(f":{GITHUB_ACTIONS_APP_ID}")
            ]
            for context in [*contexts, *unpinned]:
                yield (
                    f"branch protection {r.name}: required check {context!r} does not name GitHub Actions: use a "
                    "ruleset (github.protection: ruleset)"
                )
