"""Ownership: each stack's branch is protected by its CI checks, and the two stacks share nothing."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.rules.model import (
    ALERTS_SUFFIX,
    GH_BRANCH_POLICY,
    GH_BRANCH_PROTECTION,
    GH_BRANCH_PROTECTION_V3,
    GH_ENV_SECRET,
    GH_ENV_VARIABLE,
    GH_ENVIRONMENT,
    GH_FILE,
    GH_ORG_SECRET,
    GH_ORG_VARIABLE,
    GH_REPO_SECRET,
    GH_REPO_VARIABLE,
    GH_RULESET,
    RAILWAY_CUSTOM_DOMAIN,
    RAILWAY_ENVIRONMENT,
    RAILWAY_PROJECT,
    RAILWAY_TOKEN,
    RAILWAY_TRIGGER,
    UNKNOWN,
    VERCEL_DOMAIN,
    VERCEL_PROJECT,
    VERCEL_SHARED_ENV,
    Resource,
    StackFacts,
    _text,
    is_handed_off,
)


def _branch_of(resources: Sequence[Resource]) -> str | None:
    for r in resources:
        if r.type == GH_BRANCH_POLICY and _text(r.get("branchPattern")):
            return str(r.get("branchPattern"))
    for r in resources:
        if r.type == GH_FILE and _text(r.get("branch")):
            return str(r.get("branch"))
    return None


def _ruleset_covers(r: Resource, branch: str) -> tuple[bool, set[str]]:
    """(does this ruleset protect refs/heads/<branch>, the status checks it requires)."""
    if r.get("enforcement") != "active" or r.get("target") not in ("branch", None):
        return False, set()
    ref_name = (r.get("conditions") or {}).get("refName") or {}
    ref = f"refs/heads/{branch}"
    includes = [p for p in ref_name.get("includes") or [] if isinstance(p, str)]
    excludes = [p for p in ref_name.get("excludes") or [] if isinstance(p, str)]
    covered = any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in includes) and not any(
        fnmatch.fnmatchcase(ref, p) for p in excludes
    )
    checks = ((r.get("rules") or {}).get("requiredStatusChecks") or {}).get("requiredChecks") or []
    return covered, {str(c["context"]) for c in checks if isinstance(c, Mapping) and c.get("context")}


def _protection_covers(r: Resource, branch: str) -> tuple[bool, set[str]]:
    pattern = r.get("pattern") if r.type == GH_BRANCH_PROTECTION else r.get("branch")
    if not isinstance(pattern, str) or not fnmatch.fnmatchcase(branch, pattern):
        return False, set()
    status = r.get("requiredStatusChecks")
    blocks = status if isinstance(status, list) else [status] if isinstance(status, Mapping) else []
    checks: set[str] = set()
    for block in blocks:
        if isinstance(block, Mapping):
            checks |= {c for c in block.get("contexts") or [] if isinstance(c, str)}
            checks |= {
                str(c["context"]) for c in block.get("checks") or [] if isinstance(c, Mapping) and c.get("context")
            }
    return True, checks


def _repository_of(r: Resource) -> str | None:
    return _text(r.get("repository", "repositoryId"))


def branch_protected_with_ci(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """The stack's branch, in every repository the stack deploys from, requires the CI checks."""
    resources = [r for r in resources if not is_handed_off(r)]  # another stack's branch: policy/rules/trust.py
    managed = [r for r in resources if r.type in (GH_ENVIRONMENT, GH_FILE, GH_ENV_SECRET, GH_ENV_VARIABLE)]
    if not managed:
        return  # GitHub is left out of this stack (see README, "Platforms"), or declared by production
    branch = facts.branch or _branch_of(resources)
    if not branch:
        yield "cannot tell the stack's branch (no github.branch in config, no deployment branch policy)", None
        return
    wanted = set(facts.required_checks)
    repositories = sorted({repo for r in managed if (repo := _repository_of(r))})
    for repo in repositories:
        guards = [r for r in resources if _repository_of(r) == repo]
        required: set[str] = set()
        protected = False
        for r in guards:
            if r.type == GH_RULESET:
                covered, checks = _ruleset_covers(r, branch)
            elif r.type in (GH_BRANCH_PROTECTION, GH_BRANCH_PROTECTION_V3):
                covered, checks = _protection_covers(r, branch)
            else:
                continue
            if covered:
                protected = True
                required |= checks
        if not protected:
            yield (
                f"branch {branch!r} of {repo} is not protected: no active ruleset or branch protection covers it "
                "(github.protection)",
                None,
            )
            continue
        missing = sorted(wanted - required)
        if missing:
            yield f"branch {branch!r} of {repo} does not require the CI checks {missing} (github.requiredChecks)", None
        elif not required:
            yield f"branch {branch!r} of {repo} requires no status check: CI can fail and still merge", None


def _identifiers(resources: Sequence[Resource]) -> Iterator[tuple[str, str, str]]:
    """(kind, value, urn) of the real-world objects this stack declares (not those it declares for another stack
    from its hand-off: those are the other stack's own, checked by policy/rules/trust.py)."""
    for r in resources:
        if is_handed_off(r):
            continue
        pick: list[tuple[str, Any]] = []
        if r.type == VERCEL_PROJECT:
            pick = [("Vercel project", r.get("name"))]
        elif r.type == VERCEL_DOMAIN:
            pick = [("domain", r.get("domain"))]
        elif r.type == RAILWAY_PROJECT:
            pick = [("Railway project", r.get("name"))]
        elif r.type == RAILWAY_CUSTOM_DOMAIN:
            pick = [("domain", r.get("domain"))]
        elif r.type in (GH_ENVIRONMENT, GH_BRANCH_POLICY, GH_ENV_SECRET, GH_ENV_VARIABLE):
            pick = [("environment", r.get("environment"))]
            alerts_only = str(r.get("environment") or "").endswith(ALERTS_SUFFIX)
            if r.type == GH_BRANCH_POLICY and not alerts_only:  # <env>-alerts also admits the default branch,
                pick.append(("branch", r.get("branchPattern")))  # where the scheduled monitor runs: mail only
        elif r.type == RAILWAY_ENVIRONMENT:
            pick = [("environment", r.get("name"))]
        elif r.type in (RAILWAY_TRIGGER, GH_FILE):
            pick = [("branch", r.get("branch"))]
        for kind, value in pick:
            if isinstance(value, str) and value is not UNKNOWN and value:
                yield kind, value, r.urn


def stacks_share_nothing(resources: Sequence[Resource], facts: StackFacts) -> Iterator[tuple[str, str | None]]:
    """Staging and production never share a domain, a project, an environment, a branch or a token."""
    for r in resources:
        if r.type in (GH_REPO_SECRET, GH_REPO_VARIABLE, GH_ORG_SECRET, GH_ORG_VARIABLE, VERCEL_SHARED_ENV):
            name = r.get("secretName", "variableName", "key")
            yield (
                f"{r.type.rsplit(':', 1)[-1]} {name}: repository-, organization- or team-wide values are shared by "
                "both stacks; use an environment-scoped one",
                r.urn,
            )
    if facts.other_stack is None:
        return
    seen: set[tuple[str, str]] = set()
    for kind, value, urn in _identifiers(resources):
        if (kind, value) in facts.other_identifiers and (kind, value) not in seen:
            seen.add((kind, value))
            yield f"{kind} {value!r} also belongs to stack {facts.other_stack!r} (Pulumi.{facts.other_stack}.yaml)", urn
    for r in resources:
        if r.type == RAILWAY_TOKEN:
            name = _text(r.get("name")) or ""
            if name and facts.stack not in name:
                yield f"Railway project token {name!r} is not named for stack {facts.stack!r}", r.urn
