"""The blast radius of each stack's credentials, checked across the stacks (docs/trust.md).

A stack's platform tokens reach whatever their account, workspace or team reaches. Staging's tokens are the
ones more people can make a workflow use (its pipeline runs on ``develop``, a pull request's approved preview
decrypts its config), so they must not reach production:

* **Railway** has no project-scoped account token and no read-only one: staging's ``railwayToken`` is confined
  only by being a token of another workspace. Both stacks name their workspace (``railway.workspaceId``), and
  the two differ.
* **Vercel** offers project-scoped tokens: staging may share production's team (``frontend.teamId``) only when
  its ``vercelToken`` is one (``frontend.tokenScope: project``). Otherwise the teams differ.
* **GitHub** grants per repository, never per environment: the write token lives in production's stack only
  (``config.secrets``: ``githubToken`` is refused elsewhere), and production declares every stack's GitHub
  settings from the values staging hands over (``config.handoff``).

One problem per broken rule, naming the key and the fix; nothing is declared while one is open.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.load import ConfigError, Problem
from config.model import NAMESPACE, StackConfig


def _confined_stacks(configs: Sequence[StackConfig]) -> tuple[StackConfig, StackConfig] | None:
    """(production, the other) when both are known; the rules compare only those two."""
    production = [c for c in configs if c.is_production]
    others = [c for c in configs if not c.is_production]
    if len(production) != 1 or len(others) != 1:
        return None
    return production[0], others[0]


def _set(stack: str, path: str, value: str) -> str:
    return f"pulumi config set --path '{NAMESPACE}:{path}' {value} --stack {stack}"


def railway_problems(production: StackConfig, other: StackConfig) -> list[Problem]:
    """Both stacks name their Railway workspace, and not the same one."""
    if "railway" not in production.platforms or "railway" not in other.platforms:
        return []
    problems = []
    for cfg in (other, production):
        if cfg.railway.workspace_id is None:
            problems.append(
                Problem(
                    "railway.workspaceId",
                    f"stack {cfg.stack} does not name its Railway workspace: a Railway token reaches every project of "
                    "its workspace (there is no project-scoped or read-only one), so each stack must live in its own "
                    "and say which (docs/trust.md)",
                    _set(cfg.stack, "railway.workspaceId", f"<id of {cfg.stack}'s own Railway workspace>"),
                )
            )
    shared = production.railway.workspace_id
    if shared is not None and shared == other.railway.workspace_id:
        problems.append(
            Problem(
                "railway.workspaceId",
                f"{other.stack} and production name the same Railway workspace ({shared}): {other.stack}'s "
                f"railwayToken would reach production's project. Move {other.stack} to a workspace of its own "
                "(a Railway token cannot be limited to one project; docs/trust.md)",
                _set(other.stack, "railway.workspaceId", f"<id of {other.stack}'s own Railway workspace>"),
            )
        )
    return problems


def vercel_problems(production: StackConfig, other: StackConfig) -> list[Problem]:
    """Different Vercel teams, or the other stack's token scoped to its own project."""
    if "vercel" not in production.platforms or "vercel" not in other.platforms:
        return []
    if other.frontend.token_scope == "project":  # noqa: S105 (a token's scope, not a password)
        return []  # the documented exception: a project-scoped token reaches nothing else of the team
    if production.frontend.team_id is not None and production.frontend.team_id != other.frontend.team_id:
        return []
    where = f"team {production.frontend.team_id}" if production.frontend.team_id else "the same personal account"
    return [
        Problem(
            "frontend.teamId",
            f"{other.stack} and production are in {where} and {other.stack}'s vercelToken is a team token "
            f"(frontend.tokenScope: team): it would reach production's project. Give {other.stack} a team of its "
            f"own, or a token scoped to its project only and declare it (docs/trust.md)",
            f"{_set(other.stack, 'frontend.teamId', '<id of its own Vercel team>')}   # or: "
            f"{_set(other.stack, 'frontend.tokenScope', 'project')} after `pulumi config set --secret "
            f"{NAMESPACE}:vercelToken --stack {other.stack}` with a project-scoped token",
        )
    ]


def confinement_problems(configs: Sequence[StackConfig]) -> list[Problem]:
    """Every way one stack's credentials could reach production, across the stacks' configs."""
    pair = _confined_stacks(configs)
    if pair is None:
        return []
    production, other = pair
    return [*railway_problems(production, other), *vercel_problems(production, other)]


def require_confined(stack: str, configs: Sequence[StackConfig]) -> None:
    """Refuse to declare anything of ``stack`` while a credential of one stack can reach the other."""
    problems = confinement_problems(configs)
    if problems:
        raise ConfigError(stack, problems)
