"""The hand-off: the values of a stack's GitHub environments, handed to production's program (docs/trust.md).

GitHub grants its tokens per repository, never per environment, so the token that writes the repository's
settings lives in production's stack only, and production declares every stack's GitHub environments. The
values of staging's environments (its Railway project token and ids, its Vercel deploy token, SMTP, the
previews' tokens, …) are staging's: its program resolves them and exports them as one secret stack output,
:data:`HANDOFF_OUTPUT`. Production's pipeline reads that output with staging's own state credentials and
passphrase (held in production's maya-infra environments, never the reverse) through
``python -m ops handoff``, which writes this file; production's program reads the file and declares the
values as Pulumi secrets in production's state.

Why not a ``StackReference``: on a DIY backend it decrypts the referenced stack's secrets with the *current*
stack's passphrase, and silently elides what it cannot decrypt; carrying staging's secrets that way would
need one passphrase for both stacks, which hands production's secrets to whoever holds staging's.

A missing or malformed file stops production's program with one line before anything is declared: a failed
program deletes nothing, so staging's GitHub values are never removed for want of a hand-off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.envvars import TABLE, Target, for_target
from config.model import PROJECT_DIR, StackConfig

#: The secret stack output a stack hands its GitHub values over in.
HANDOFF_OUTPUT = "github_handoff"
HANDOFF_VERSION = 1
#: Where ``ops handoff`` writes and production's program reads (default: ``<project>/.handoff``, gitignored).
HANDOFF_DIR_ENV = "MAYA_HANDOFF_DIR"
#: The targets whose values are handed over, by their key in the document.
HANDED_TARGETS: Mapping[str, tuple[Target, ...]] = {
    "ci": (Target.CI_FRONTEND, Target.CI_BACKEND),
    "alerts": (Target.CI_ALERTS,),
    "preview": (Target.CI_PREVIEW,),
    "scan": (Target.CI_SCAN,),
}


class HandoffError(Exception):
    """The hand-off cannot be used; the message is one line that says what to run."""


@dataclass(frozen=True)
class HandedValue:
    value: str
    secret: bool


@dataclass(frozen=True)
class Handoff:
    """What one stack hands over: per key of :data:`HANDED_TARGETS`, the values (``ci`` per repository)."""

    stack: str
    ci: Mapping[str, Mapping[str, HandedValue]] = field(default_factory=dict)
    alerts: Mapping[str, HandedValue] = field(default_factory=dict)
    preview: Mapping[str, HandedValue] = field(default_factory=dict)
    scan: Mapping[str, HandedValue] = field(default_factory=dict)


def handoff_path(stack: str, project_dir: Path = PROJECT_DIR, env: Mapping[str, str] | None = None) -> Path:
    """The file holding ``stack``'s hand-off (``$MAYA_HANDOFF_DIR/<stack>.json``, else ``.handoff/<stack>.json``)."""
    environ = os.environ if env is None else env
    directory = environ.get(HANDOFF_DIR_ENV)
    return (Path(directory) if directory else project_dir / ".handoff") / f"{stack}.json"


def document(stack: str, ci: Any, alerts: Any, preview: Any, scan: Any) -> dict[str, Any]:
    """The hand-off document a stack exports (values already resolved: plain strings and flags)."""
    return {"version": HANDOFF_VERSION, "stack": stack, "ci": ci, "alerts": alerts, "preview": preview, "scan": scan}


def _values(raw: Any, where: str) -> dict[str, HandedValue]:
    if not isinstance(raw, Mapping):
        raise HandoffError(f"{where} is not an object")
    out = {}
    for name, item in raw.items():
        ok = isinstance(item, Mapping) and isinstance(item.get("value"), str) and isinstance(item.get("secret"), bool)
        if not ok:
            raise HandoffError(f"{where}.{name} is not {{value: string, secret: bool}}")
        out[str(name)] = HandedValue(item["value"], item["secret"])
    return out


def parse(raw: Any, expected_stack: str) -> Handoff:
    """Validate a hand-off document; names are checked against the variable table by :func:`check_names`."""
    if not isinstance(raw, Mapping) or raw.get("version") != HANDOFF_VERSION:
        raise HandoffError(f"not a version-{HANDOFF_VERSION} hand-off document")
    if raw.get("stack") != expected_stack:
        raise HandoffError(f"it is the hand-off of stack {raw.get('stack')!r}, not of {expected_stack!r}")
    ci = raw.get("ci")
    if not isinstance(ci, Mapping):
        raise HandoffError("ci is not an object of repository -> values")
    return Handoff(
        stack=expected_stack,
        ci={str(repo): _values(values, f"ci.{repo}") for repo, values in ci.items()},
        alerts=_values(raw.get("alerts", {}), "alerts"),
        preview=_values(raw.get("preview", {}), "preview"),
        scan=_values(raw.get("scan", {}), "scan"),
    )


def _expected(cfg: StackConfig, targets: tuple[Target, ...]) -> tuple[set[str], set[str]]:
    """(names the stack's file says must be there, names the variable table allows) for ``targets``."""
    required = {v.name for t in targets for v in for_target(cfg, t) if cfg.stack in v.required_in}
    allowed = {v.name for v in TABLE if set(targets) & v.targets}
    return required, allowed


def check_names(handoff: Handoff, cfg: StackConfig) -> None:
    """Only the variable table's names, in the stack's repositories, and every name the stack requires.

    Production declares what it receives inside the other stack's environments only; a name the table does not
    give those targets (a production value wired by mistake, a stale document) is refused, not declared.
    """
    repos = set(cfg.github.repositories)
    if set(handoff.ci) - repos:
        raise HandoffError(f"ci names repositories {sorted(set(handoff.ci) - repos)} that {cfg.stack} does not use")
    owners = ((Target.CI_FRONTEND, cfg.github.frontend_repository), (Target.CI_BACKEND, cfg.github.backend_repository))
    per_repo = {repo: tuple(t for t, owner in owners if owner == repo) for repo in repos}
    groups: list[tuple[str, Mapping[str, HandedValue], tuple[Target, ...]]] = [
        (f"ci.{repo}", handoff.ci.get(repo, {}), targets) for repo, targets in sorted(per_repo.items())
    ]
    if cfg.monitoring is not None:
        groups.append(("alerts", handoff.alerts, HANDED_TARGETS["alerts"]))
    if cfg.previews_active:
        groups.append(("preview", handoff.preview, HANDED_TARGETS["preview"]))
    groups.append(("scan", handoff.scan, HANDED_TARGETS["scan"]))
    for where, values, targets in groups:
        required, allowed = _expected(cfg, targets)
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise HandoffError(f"{where} holds {unknown}, which the variable table does not give these environments")
        missing = sorted(required - set(values))
        if missing:
            raise HandoffError(f"{where} lacks {missing}, which {cfg.stack}'s config requires")


def read(cfg: StackConfig, path: Path | None = None) -> Handoff:
    """The hand-off of stack ``cfg`` from its file, validated; :class:`HandoffError` says what to run."""
    path = path or handoff_path(cfg.stack)
    fix = (
        f"run `python -m ops handoff --stack production` with {cfg.stack}'s state credentials and passphrase "
        f"(STAGING_* variables; docs/trust.md, 'The hand-off')"
    )
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise HandoffError(f"the hand-off of stack {cfg.stack} is missing ({path}): {fix}") from None
    except (OSError, ValueError) as exc:
        raise HandoffError(f"the hand-off of stack {cfg.stack} ({path}) cannot be read ({exc}): {fix}") from None
    try:
        handoff = parse(raw, cfg.stack)
        check_names(handoff, cfg)
    except HandoffError as exc:
        raise HandoffError(f"the hand-off of stack {cfg.stack} ({path}) is not usable: {exc}; {fix}") from None
    return handoff


def fingerprint(path: Path) -> str | None:
    """sha256 of the hand-off file as it is now (None: there is none), recorded with a saved plan."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
