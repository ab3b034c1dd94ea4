"""``handoff``: bring staging's GitHub values to production's program (docs/trust.md, "The hand-off").

    python -m ops handoff --stack production             # writes .handoff/staging.json (mode 0600)
    python -m ops handoff --stack production --out DIR   # or DIR/staging.json (MAYA_HANDOFF_DIR is read too)

Production's program declares every stack's GitHub environments (only production holds the GitHub token);
the values of staging's (its Railway project token and ids, its Vercel deploy token, SMTP, the previews'
tokens, …) are staging's own, exported by staging as the secret output ``github_handoff``. This command reads
that output with staging's OWN state credentials and passphrase — given as ``STAGING_<NAME>`` environment
variables, exactly the names staging's backend needs (``STAGING_PULUMI_CONFIG_PASSPHRASE``,
``STAGING_PULUMI_BACKEND_URL``, …; production's maya-infra environments hold them) — checks it against
Pulumi.staging.yaml and the variable table, and writes it where production's program reads it. Values are
never printed. Production's credentials are never handed to this read.

Exit status: 0 written; 2 a credential, the output or the document is missing or wrong (one line says which).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from config import PROJECT_DIR, STACKS, ConfigError, StackConfig, handoff, load_from_stack_file
from config.model import STATE_BACKEND_SECRETS
from ops.cli import command
from ops.console import Streams
from ops.context import OpsError
from workflows.infra_environments import backend_secrets, handoff_prefix

#: What selects a state backend or unlocks its secrets: never inherited from production's own environment.
_BACKEND_VARIABLES = frozenset(
    {
        *(name for names in STATE_BACKEND_SECRETS.values() for name in names),
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "PULUMI_ACCESS_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    }
)
Runner = Callable[..., subprocess.CompletedProcess[str]]


def handed_stacks(cfg: StackConfig, project_dir: Path = PROJECT_DIR) -> list[StackConfig]:
    """The stacks whose GitHub half ``cfg``'s program declares from their hand-off (production: staging)."""
    if not cfg.is_production or "github" not in cfg.platforms:
        return []
    out = []
    for name in STACKS:
        if name == cfg.stack:
            continue
        other = load_from_stack_file(name, project_dir)
        if "github" in other.platforms:
            out.append(other)
    return out


def reader_environment(other: StackConfig, env: Mapping[str, str]) -> dict[str, str]:
    """The environment ``pulumi`` reads ``other``'s outputs with: its own credentials (``STAGING_<NAME>``) only."""
    wanted = backend_secrets(other) or ("PULUMI_CONFIG_PASSPHRASE",)
    prefix = handoff_prefix(other.stack)
    missing = [f"{prefix}{name}" for name in wanted if not env.get(f"{prefix}{name}")]
    if missing:
        raise OpsError(
            f"{', '.join(missing)} not set: the hand-off of {other.stack} is read with {other.stack}'s own state "
            f"credentials and passphrase (production's maya-infra environments hold them; docs/trust.md)"
        )
    clean = {k: v for k, v in env.items() if k not in _BACKEND_VARIABLES}
    clean.update({name: env[f"{prefix}{name}"] for name in wanted})
    backend = other.state_backend
    if backend is not None and backend.login_url is not None and "PULUMI_BACKEND_URL" not in clean:
        clean["PULUMI_BACKEND_URL"] = backend.login_url
    extra = env.get(f"{prefix}PULUMI_BACKEND_URL")  # a local or test backend given explicitly
    if extra:
        clean["PULUMI_BACKEND_URL"] = extra
    return clean


def _why(stderr: str, other: StackConfig) -> str:
    text = stderr.lower()
    if "github_handoff" in text and ("not found" in text or "does not have" in text or "no output" in text):
        return (
            f"stack {other.stack} has no output {handoff.HANDOFF_OUTPUT}: run `pulumi up --stack {other.stack}` first"
        )
    prefix = handoff_prefix(other.stack)
    if "passphrase" in text or "decrypt" in text:
        return f"{other.stack}'s secrets cannot be decrypted: check {prefix}PULUMI_CONFIG_PASSPHRASE"
    if "no stack named" in text or "not found" in text:
        return f"stack {other.stack} is not in the backend {prefix}PULUMI_BACKEND_URL names"
    return f"`pulumi stack output` of {other.stack} failed: {stderr.strip().splitlines()[-1][:300] if stderr else '?'}"


def read_output(
    other: StackConfig, env: Mapping[str, str], project_dir: Path = PROJECT_DIR, run: Runner = subprocess.run
) -> Any:
    """``other``'s ``github_handoff`` output, decrypted with its own passphrase."""
    stack_name = other.state_backend.stack_name(other.stack) if other.state_backend else other.stack
    args = ["pulumi", "stack", "output", handoff.HANDOFF_OUTPUT, "--json", "--show-secrets", "--stack", stack_name]
    try:
        result = run(
            args,
            cwd=project_dir,
            env=reader_environment(other, env),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except FileNotFoundError:
        raise OpsError("the pulumi CLI is not on PATH (scripts/provide-engine.sh prints where it is)") from None
    except subprocess.TimeoutExpired:
        raise OpsError(f"`pulumi stack output` of {other.stack} did not answer within 180 s") from None
    if result.returncode != 0:
        raise OpsError(_why(result.stderr, other))
    try:
        return json.loads(result.stdout)
    except ValueError:
        raise OpsError(f"the {handoff.HANDOFF_OUTPUT} output of {other.stack} is not JSON") from None


def write(path: Path, document: Any) -> None:
    """The hand-off file, readable by its owner only (it holds staging's secrets in plain text)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out, sort_keys=True)
    temporary.replace(path)


def receive(
    cfg: StackConfig,
    env: Mapping[str, str],
    out: Path | None = None,
    project_dir: Path = PROJECT_DIR,
    run: Runner = subprocess.run,
) -> list[tuple[Path, handoff.Handoff]]:
    """Read, check and write the hand-off of every stack ``cfg`` declares GitHub for."""
    others = handed_stacks(cfg, project_dir)
    if not others:
        raise OpsError(f"stack {cfg.stack} declares no other stack's GitHub settings: nothing to hand off")
    written = []
    for other in others:
        document = read_output(other, env, project_dir, run)
        try:
            received = handoff.parse(document, other.stack)
            handoff.check_names(received, other)
        except handoff.HandoffError as exc:
            raise OpsError(f"the {handoff.HANDOFF_OUTPUT} output of {other.stack} is not usable: {exc}") from None
        path = (out / f"{other.stack}.json") if out else handoff.handoff_path(other.stack, project_dir, env)
        write(path, document)
        written.append((path, received))
    return written


def _count(received: handoff.Handoff) -> tuple[int, int]:
    groups: Sequence[Mapping[str, handoff.HandedValue]] = [*received.ci.values(), received.alerts, received.preview]
    values = [v for group in groups for v in group.values()]
    return len(values), sum(v.secret for v in values)


def run_command(args: argparse.Namespace, io: Streams) -> int:
    env = dict(os.environ if io.env is None else io.env)
    project_dir = Path(args.project_dir)
    try:
        try:
            cfg = load_from_stack_file(args.stack, project_dir)
        except ConfigError as exc:
            raise OpsError(str(exc)) from None
        for path, received in receive(cfg, env, args.out, project_dir):
            count, secret = _count(received)
            fingerprint = handoff.fingerprint(path)
            print(
                f"wrote {path}: {received.stack}'s {count} GitHub values ({secret} secret), sha256 {fingerprint}",
                file=io.out,
            )
        return 0
    except OpsError as exc:
        print(f"ops handoff: {exc}", file=io.err)
        return exc.code


def register(subparsers: Any) -> None:
    parser = command(subparsers, "handoff", "read staging's GitHub values for production's program", __doc__)
    parser.add_argument(
        "--stack", required=True, choices=list(STACKS), help="the stack that declares them (production)"
    )
    parser.add_argument("--out", type=Path, help="folder to write <stack>.json into (default .handoff/)")
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=argparse.SUPPRESS)
    parser.set_defaults(handler=run_command)
