"""``python -m ops adopt --stack <stack>``: take over the MAYA that already runs, without touching it.

1. **Discover** (reads only): the stack's objects on Railway, Vercel and GitHub. Railway: every resource the
   backend declares (components/railway/plan.py), found by its kind's own finder — by name, or by what it
   runs (the service built from the backend's repository and root directory in the environment, the
   PostgreSQL service by its data volume, domains by host), or by ``--id KIND=ID``; two candidates are
   refused, listing both. Variables by name only (values are never printed). Vercel: project, domains,
   environment variables. GitHub: environments with reviewers, environment secret and variable names,
   the branch ruleset, the workflow files.
2. **Show** one table: object, id, and whether it matches the config (the next preview changes nothing
   about it), differs (each difference, with what runs, what the config says and what ``up`` will do),
   is extra (runs but is not declared: kept, never deleted) or is missing (the next ``up`` creates it).
3. On confirmation (``--yes``, or answering ``y``), **bring them into the stack**:
   * ``Pulumi.<stack>.yaml`` gets the running names of what was found under another name
     (``backend.projectName``, ``backend.serviceName``, ``backend.databaseServiceName``), so nothing is
     renamed, and ``maya-infra:adopt``: the Vercel and GitHub import ids (read by the components as the
     ``import_`` resource option) and the Railway ids found;
   * one targeted ``pulumi up`` records the Railway objects found (Pulumi cannot import into dynamic
     providers, pulumi/pulumi#16175): in that run each Railway ``create`` is the provider's ``adopt`` — it
     reads the running object and sends no mutation (components/railway/providers/adoption.py);
   * with ``--remove-undeclared-variables``, and only then, the Railway variables nobody declared — listed
     before anything is written — are deleted, one ``variableDelete`` each. No ``up`` ever removes them.

Afterwards ``pulumi preview`` shows no create, delete or replace of what was found; its updates are the
"differs" rows of the table, and the next ``up`` writes only those.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.railway.providers.adoption import PINNED_ENV, RECORDING_ENV
from config import NAMESPACE, PROJECT_DIR
from ops.adopt_bridged import GitHubReader, discover_github, discover_vercel
from ops.adopt_railway import (
    RAILWAY_TYPE,
    adopt_keys,
    declared_values,
    discover_railway,
    remove_undeclared,
    stack_secrets,
)
from ops.adopt_table import DIFFERS, EXTRA, MATCHES, MISSING, Discovery, Row, render
from ops.cli import command
from ops.console import GUARDED, Streams, explain
from ops.context import OpsError, StackContext
from ops.engine import run_to_the_end
from ops.handoff import handed_stacks
from ops.vercel import VercelClient, VercelError
from workflows import render_app_workflows

__all__ = [
    "DIFFERS",
    "EXTRA",
    "MATCHES",
    "MISSING",
    "Discovery",
    "GitHubReader",
    "Row",
    "adopt_block",
    "discover",
    "discover_github",
    "discover_railway",
    "discover_vercel",
    "render",
    "write_config",
]

RAILWAY_PARENT = "maya:railway:Backend"


# ---- writing ----------------------------------------------------------------------------------------------
def adopt_block(d: Discovery) -> dict[str, Any]:
    keys = adopt_keys()
    return {
        "imports": dict(sorted(d.imports.items())),
        "railway": {k: d.railway_ids[k] for k in keys if k in d.railway_ids},
    }


def write_config(
    project_dir: Path, stack: str, block: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> Path:
    """Replace (or add) the ``maya-infra:adopt`` block inside ``config:`` of ``Pulumi.<stack>.yaml``, and set
    the running ``names`` (``backend.serviceName`` -> ``maya`` ...); every other line (comments, secrets,
    the encryption salt) stays as it is."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    lines = path.read_text().splitlines(keepends=True)
    for setting, value in sorted((names or {}).items()):
        lines = _set_setting(lines, setting, value)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    key = f"  {NAMESPACE}:adopt:"
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(key):
            skipping = True
            continue
        if skipping and (line.startswith("   ") or line.startswith("  -") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    dumped = yaml.safe_dump({f"{NAMESPACE}:adopt": dict(block)}, sort_keys=False, default_flow_style=False, width=200)
    block_lines = ["  " + line + "\n" for line in dumped.splitlines()]
    if "config:\n" not in kept:
        return _write(path, [*kept, "config:\n", *block_lines])
    at = kept.index("config:\n") + 1
    while at < len(kept) and (kept[at].startswith(" ") or not kept[at].strip()):
        at += 1
    return _write(path, [*kept[:at], *block_lines, *kept[at:]])


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


def _set_setting(lines: list[str], setting: str, value: str) -> list[str]:
    """``section.key: value`` inside ``maya-infra:<section>:`` of the stack file, line by line: the key's line
    is replaced when it is there, added under its section otherwise (the section is added when missing)."""
    section, key = setting.split(".", 1)
    header = f"  {NAMESPACE}:{section}:"
    entry = yaml.safe_dump({key: value}, default_flow_style=False, width=200).strip()
    at = next((i for i, line in enumerate(lines) if line.rstrip() == header), None)
    if at is None:
        start = next((i + 1 for i, line in enumerate(lines) if line.rstrip() == "config:"), len(lines))
        return [*lines[:start], header + "\n", f"    {entry}\n", *lines[start:]]
    end = at + 1
    while end < len(lines) and (lines[end].startswith("   ") or not lines[end].strip()):
        if lines[end].startswith(f"    {key}:"):
            return [*lines[:end], f"    {entry}\n", *lines[end + 1 :]]
        end += 1
    return [*lines[: at + 1], f"    {entry}\n", *lines[at + 1 :]]


def railway_targets(stack: str, found: Iterable[tuple[str, str]]) -> list[str]:
    prefix = f"urn:pulumi:{stack}::maya-infra::"
    urns = [f"{prefix}{RAILWAY_PARENT}::backend"]
    urns += [f"{prefix}{RAILWAY_PARENT}${RAILWAY_TYPE}{type_}::{name}" for type_, name in found]
    return urns


def record_railway(
    project_dir: Path, stack: str, d: Discovery, env: Mapping[str, str], run: Callable[..., Any] = run_to_the_end
) -> None:
    """The one targeted ``pulumi up`` in which Railway creates read and record (no mutation is sent); on
    Ctrl-C it stops by itself, never killed (:mod:`ops.engine`): killed, it would leave pending operations.

    Only objects the state does not hold yet are targeted: an update is never intercepted, so running
    ``ops adopt`` again must not turn into a targeted update of what is already managed.
    """
    exported = run(
        ["pulumi", "stack", "export", "--stack", stack],
        cwd=project_dir,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if exported.returncode != 0:
        raise OpsError(f"`pulumi stack export --stack {stack}` failed: {exported.stderr.strip()[:300]}")
    held = {r.get("urn") for r in (json.loads(exported.stdout or "{}").get("deployment") or {}).get("resources") or []}
    targets = [urn for urn in railway_targets(stack, d.railway_found) if urn not in held]
    if not [urn for urn in targets if RAILWAY_TYPE in urn]:
        return
    args = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", stack]
    for urn in targets:
        args += ["--target", urn]
    result = run(
        args,
        cwd=project_dir,
        env={**env, RECORDING_ENV: "1", PINNED_ENV: json.dumps(d.railway_ids)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise OpsError(
            "recording the Railway objects failed (nothing was written to Railway):\n"
            f"{result.stdout[-3000:]}{result.stderr[-2000:]}",
            1,
        )


# ---- the command ------------------------------------------------------------------------------------------
def discover(ctx: StackContext, given: Mapping[str, str], project_dir: Path = PROJECT_DIR) -> Discovery:
    cfg = ctx.config
    d = Discovery(cfg.stack)
    if "railway" in cfg.platforms:
        with ctx.railway() as client:
            secrets, why = stack_secrets(project_dir, cfg.stack, ctx.env)
            discover_railway(
                client, cfg, given, d, declared_values(cfg, secrets), external_database_url=secrets.get("databaseUrl")
            )
        if why:
            d.notes.append(f"variable values not compared: {why}")
    if "vercel" in cfg.platforms:
        try:
            with VercelClient(ctx.vercel_token(), ctx.vercel_api(), cfg.frontend.team_id) as vercel:
                discover_vercel(vercel, cfg, given, d)
        except VercelError as exc:
            raise OpsError(f"Vercel: {exc}") from None
    if "github" in cfg.platforms and cfg.is_production:  # only production declares GitHub, every stack's half
        reader = GitHubReader(ctx.secret("GITHUB_TOKEN", "githubToken"), ctx.github_api())
        halves = [(cfg, "pipeline"), *((other, f"{other.stack}-pipeline") for other in handed_stacks(cfg, project_dir))]
        try:
            for half, prefix in halves:
                files = render_app_workflows(half) if half.github.commit_workflows else {}
                discover_github(reader, half, d, files, prefix)
        finally:
            reader.close()
    return d


def _given(pairs: Iterable[str]) -> dict[str, str]:
    known = {*adopt_keys(), "vercel"}
    out: dict[str, str] = {}
    for pair in pairs:
        kind, sep, value = pair.partition("=")
        if not sep or not value or kind not in known:
            raise OpsError(f"--id {pair!r}: use kind=ID with kind one of {', '.join(sorted(known))}")
        out[kind] = value
    return out


def _confirmed(args: argparse.Namespace, io: Streams, question: str) -> bool:
    if args.yes:
        return True
    if not io.stdin.isatty():
        print("\nnothing written: run again with --yes to adopt these objects", file=io.out)
        return False
    print(f"\n{question} [y/N] ", end="", file=io.out, flush=True)
    if io.stdin.readline().strip().lower() != "y":
        print("nothing written", file=io.out)
        return False
    return True


def run(args: argparse.Namespace, io: Streams) -> int:
    """The ``ops adopt`` handler: streams and environment come from ``io`` (the shared handler contract)."""
    env = dict(os.environ if io.env is None else io.env)
    try:
        project_dir = Path(args.project_dir).resolve()
        from config import ConfigError, load_from_stack_file

        try:
            cfg = load_from_stack_file(args.stack, project_dir)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        ctx = StackContext(args.stack, cfg, {}, env)
        d = discover(ctx, _given(args.id or []), project_dir)
        print(render(d), file=io.out)
        removing = [name for _scope, name in d.undeclared] if args.remove_undeclared_variables else []
        if removing:
            print(
                f"\n--remove-undeclared-variables: after adopting, deletes {len(removing)} Railway variables "
                f"nobody declared: {', '.join(removing)}",
                file=io.out,
            )
        if not _confirmed(args, io, "adopt these objects into the stack" + (" and delete those?" if removing else "?")):
            return 0
        block = adopt_block(d)
        # the recording run sees no import ids: untargeted imports would still be attempted by the engine,
        # and Vercel and GitHub are imported by the next preview/up, with the rest of their stack
        write_config(project_dir, args.stack, {**block, "imports": {}}, d.names)
        recording = f"the recording `pulumi up` of stack {args.stack} (it writes the state, nothing to Railway)"
        with io.journal.sending(recording, f"pulumi stack history --stack {args.stack}"):
            record_railway(project_dir, args.stack, d, env)
        path = write_config(project_dir, args.stack, block)
        print(f"\nwrote {NAMESPACE}:adopt into {path.name}", file=io.out)
        for setting, name in sorted(d.names.items()):
            print(f"kept the running name: {NAMESPACE}:{setting} = {name}", file=io.out)
        print(
            f"recorded {len(d.railway_found)} Railway objects without writing to Railway. Next: "
            f"`pulumi preview --stack {args.stack}` lists only the differences above.",
            file=io.out,
        )
        if removing:
            deleting = f"the deletion of {len(removing)} undeclared Railway variables"
            with ctx.railway() as client, io.journal.sending(deleting, f"python -m ops adopt --stack {args.stack}"):
                removed = remove_undeclared(client, d)
            print(f"deleted {len(removed)} undeclared Railway variables: {', '.join(removed)}", file=io.out)
        return 0
    except GUARDED as exc:  # one line, never a traceback
        text, code = explain(exc)
        print(f"ops adopt: {text}", file=io.err)
        return code


def register(subparsers: Any) -> None:
    parser = command(subparsers, "adopt", "take over the running MAYA: discover, show, record (no writes)", __doc__)
    parser.add_argument("--stack", required=True, choices=["staging", "production"])
    parser.add_argument("--id", action="append", metavar="KIND=ID", help="pin an object by id (repeatable)")
    parser.add_argument("--yes", action="store_true", help="adopt without asking")
    parser.add_argument(
        "--remove-undeclared-variables",
        action="store_true",
        help="also delete the Railway variables the stack does not declare, once listed (no `up` ever does)",
    )
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)
