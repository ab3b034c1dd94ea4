"""``plan`` and ``apply``: what the approvers saw is what runs (docs/trust.md, "Plan-exact updates").

    python -m ops plan  --stack production --out DIR [--commit SHA] [--summary FILE]
    python -m ops apply --stack production --plan DIR --commit SHA [--head SHA]

``plan`` runs ``pulumi preview --refresh --save-plan DIR/plan.json`` (the live platforms re-read first, the
policy pack on), and records beside it what the plan was made from: the commit, a fingerprint of the stack's
state (``pulumi stack export``) and of each hand-off file production's program reads. It writes the preview's
diff to DIR/summary.md (and appends it to ``--summary``, the run summary the approvers read before they
approve). Nothing is written anywhere but DIR.

``apply`` refuses — with one line, before any write — when the code is not the plan's commit, a newer commit is
on the branch (``--head``), the state changed (another update or refresh ran), or a hand-off changed. Then it
runs ``PULUMI_EXPERIMENTAL=true pulumi up --plan DIR/plan.json --refresh`` WITH its preview phase: checked on
the real engine (v3.260.0), ``up --plan`` alone applies every step it reaches before the first one that violates
the plan (with ``--skip-preview`` a resource registered before the changed one is updated, then the run stops);
its preview phase re-reads the live platforms and stops at the first difference from the plan before anything
is written. A live change in the seconds between that preview and the update is still refused by the update,
at its refresh, before the first write.

Ctrl-C during the update does not kill ``pulumi up``: it gets the signal too and cancels by itself, its
operations in flight finishing (a second Ctrl-C stops it at once); its output is shown and the last line says
that the update ran (exit 130).

Exit status: 0 applied (or planned); 1 the preview or the update failed; 2 refused (the plan no longer holds;
nothing was written unless the line says the update had begun), usage, configuration or credentials. One line
on stderr says why and what to do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from config import PROJECT_DIR, STACKS, ConfigError, StackConfig, handoff, load_from_stack_file
from ops.cli import command
from ops.console import Journal, Streams
from ops.context import OpsError
from ops.engine import EngineInterrupted, run_to_the_end
from ops.handoff import handed_stacks
from workflows.infra import POLICY_PACKS

PLAN_FILE = "plan.json"
META_FILE = "plan.meta.json"
PREVIEW_FILE = "preview.txt"
SUMMARY_FILE = "summary.md"
META_VERSION = 1
#: exit statuses (docs/oncall.md): a refusal, changing nothing, is 2; a preview or update that failed is 1
REFUSED = 2
FAILED = 1
Runner = Callable[..., subprocess.CompletedProcess[str]]
_VIOLATION = re.compile(r"error: resource (?P<urn>\S+) violates plan: (?P<what>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class PlanRecord:
    """What a saved plan was made from (DIR/plan.meta.json)."""

    stack: str
    commit: str
    state_sha256: str
    #: stack -> sha256 of its hand-off file when the plan was made
    handoffs: dict[str, str] = field(default_factory=dict)
    created: str = ""
    version: int = META_VERSION


@dataclass(frozen=True)
class Pulumi:
    """The pulumi CLI in the project, with the environment of the job (the stack's own credentials)."""

    stack: str
    project_dir: Path = PROJECT_DIR
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run: Runner = run_to_the_end
    policy_packs: tuple[str, ...] = POLICY_PACKS

    def __call__(
        self, *args: str, timeout: float = 3600, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        try:
            return self.run(
                ["pulumi", *args, "--stack", self.stack],
                cwd=self.project_dir,
                env={**self.env, **(extra_env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise OpsError("the pulumi CLI is not on PATH (scripts/provide-engine.sh prints where it is)") from None
        except subprocess.TimeoutExpired:
            raise OpsError(
                f"`pulumi {args[0]}` of {self.stack} did not finish within {timeout:.0f} s", FAILED
            ) from None

    def pack_arguments(self) -> list[str]:
        return [a for pack in self.policy_packs for a in ("--policy-pack", pack)]

    def state_fingerprint(self) -> str:
        """sha256 of the stack's state as the backend holds it: any update or refresh in between changes it."""
        exported = self("stack", "export", timeout=300)
        if exported.returncode != 0:
            raise OpsError(f"`pulumi stack export` of {self.stack} failed: {_last_line(exported.stderr)}")
        return hashlib.sha256(exported.stdout.encode()).hexdigest()


_GENERIC = ("preview failed", "update failed", "an unhandled error occurred", "Program exited with non-zero")


def _last_line(text: str) -> str:
    """The line that says why: a refused mandatory policy, else the first specific error, else the last line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "[mandatory]" in line:  # `<pack>@<version> [mandatory]  <policy>  (<resource>)<description>`, then why
            words = line.split()
            policy = words[words.index("[mandatory]") + 1] if len(words) > words.index("[mandatory]") + 1 else ""
            detail = lines[index + 1] if index + 1 < len(lines) else ""
            return f"the mandatory policy {policy} refused it: {detail}"[:500]
    specific = [line for line in lines if "error:" in line and not any(g in line for g in _GENERIC)]
    if specific:
        return specific[0][:500]
    return lines[-1][:300] if lines else "(no message)"


def _handoff_fingerprints(cfg: StackConfig, project_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """sha256 of every hand-off the program reads, each validated first (a missing one is one line here)."""
    out: dict[str, str] = {}
    for other in handed_stacks(cfg, project_dir):
        path = handoff.handoff_path(other.stack, project_dir, env)
        try:
            handoff.read(other, path)
        except handoff.HandoffError as exc:
            raise OpsError(str(exc)) from None
        digest = handoff.fingerprint(path)
        assert digest is not None
        out[other.stack] = digest
    return out


def _load(stack: str, project_dir: Path) -> StackConfig:
    if stack not in STACKS:
        raise OpsError(f"unknown stack {stack!r}: this project has {', '.join(STACKS)}")
    try:
        return load_from_stack_file(stack, project_dir)
    except ConfigError as exc:
        raise OpsError(str(exc)) from None


def _backend_name(cfg: StackConfig) -> str:
    return cfg.state_backend.stack_name(cfg.stack) if cfg.state_backend is not None else cfg.stack


# ---- plan ---------------------------------------------------------------------------------------------------------
def make_plan(cfg: StackConfig, out: Path, commit: str, pulumi: Pulumi) -> tuple[PlanRecord, str]:
    """Preview with refresh into ``out``; returns the record and the summary the approvers read."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OpsError(f"cannot write into {out} (--out): {exc.strerror or exc}") from None
    handoffs = _handoff_fingerprints(cfg, pulumi.project_dir, pulumi.env)
    state = pulumi.state_fingerprint()
    preview = pulumi(
        "preview",
        "--refresh",
        "--save-plan",
        str(out / PLAN_FILE),
        "--diff",
        "--non-interactive",
        "--color",
        "never",
        *pulumi.pack_arguments(),
    )
    text = preview.stdout + preview.stderr
    (out / PREVIEW_FILE).write_text(text)
    if preview.returncode != 0:
        raise OpsError(f"the preview of {cfg.stack} failed, nothing was planned: {_last_line(text)}", FAILED)
    record = PlanRecord(cfg.stack, commit, state, handoffs, datetime.now(UTC).isoformat(timespec="seconds"))
    (out / META_FILE).write_text(json.dumps(asdict(record), indent=2, sort_keys=True) + "\n")
    summary = _summary(record, preview.stdout)
    (out / SUMMARY_FILE).write_text(summary)
    return record, summary


def _summary(record: PlanRecord, preview: str) -> str:
    resources = preview.split("\nResources:", 1)[-1].split("\n\n", 1)[0].strip() if "\nResources:" in preview else ""
    counts = " · ".join(line.strip() for line in resources.splitlines() if line.strip()) or "see the diff"
    body = preview.split("\nResources:", 1)[0].strip()
    return (
        f"## The saved plan of `{record.stack}` — approve to apply exactly this\n\n"
        f"Commit `{record.commit[:12]}`, state `{record.state_sha256[:12]}`, made {record.created}. "
        f"Changes: {counts}.\n\n"
        "Approving the `up` job applies this plan and nothing else: if the code, the state, a hand-off or a live "
        "platform changed since, the update is refused before it writes anything, and this workflow must be run "
        "again (docs/trust.md).\n\n"
        f"<details open><summary>pulumi preview --refresh --diff</summary>\n\n```diff\n{body}\n```\n\n</details>\n"
    )


# ---- apply --------------------------------------------------------------------------------------------------------
def read_record(directory: Path) -> PlanRecord:
    try:
        raw = json.loads((directory / META_FILE).read_text())
        record = PlanRecord(**raw)
    except (FileNotFoundError, NotADirectoryError):
        raise OpsError(f"{directory} holds no saved plan ({META_FILE}): run the preview (ops plan) first") from None
    except OSError as exc:
        raise OpsError(f"cannot read the saved plan in {directory}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise OpsError(f"{directory / META_FILE} is not a plan record ({exc})") from None
    if record.version != META_VERSION or not (directory / PLAN_FILE).exists():
        raise OpsError(f"{directory} is not a complete saved plan of this version: run the preview again")
    return record


def refusal(record: PlanRecord, cfg: StackConfig, commit: str, head: str | None, pulumi: Pulumi) -> str | None:
    """Why this saved plan must not run now (one line), or None. Reads only."""
    rerun = "re-run the preview (the whole workflow) and approve the new plan; nothing was changed"
    if record.stack != cfg.stack:
        return f"the saved plan is of stack {record.stack}, not {cfg.stack}; nothing was changed"
    if record.commit != commit:
        return f"the saved plan was made from commit {record.commit[:12]}, this code is {commit[:12]}: {rerun}"
    if head is not None and head != record.commit:
        stale = f"this plan of {record.commit[:12]} is stale"
        return f"a newer commit ({head[:12]}) is on {cfg.github.branch}: {stale}: {rerun}"
    now = _handoff_fingerprints(cfg, pulumi.project_dir, pulumi.env)
    changed = sorted(s for s in {*now, *record.handoffs} if now.get(s) != record.handoffs.get(s))
    if changed:
        return f"the hand-off of {', '.join(changed)} changed since the approved preview: {rerun}"
    if pulumi.state_fingerprint() != record.state_sha256:
        since = "changed since the approved preview (another update or refresh ran)"
        return f"the state of stack {cfg.stack} {since}: {rerun}"
    return None


def apply_plan(
    cfg: StackConfig,
    directory: Path,
    commit: str,
    head: str | None,
    pulumi: Pulumi,
    echo: TextIO | None = None,
    journal: Journal | None = None,
) -> str:
    """Apply the saved plan exactly, or raise :class:`OpsError` with the one line saying why not (code 2: refused, the
    plan no longer holds; code 1: the update failed). On Ctrl-C, what the update printed is echoed and ``journal``
    says it ran (it may have changed things)."""
    record = read_record(directory)
    why = refusal(record, cfg, commit, head, pulumi)
    if why is not None:
        raise OpsError(f"refused: {why}", REFUSED)
    what = (
        f"`pulumi up` of {cfg.stack} from the approved plan, stopped by Ctrl-C after its operations in flight "
        '(README, "Recovering from an interrupted `pulumi up`" if `pulumi stack export` shows pending_operations)'
    )
    try:
        with (journal or Journal()).sending(what, f"pulumi stack history --stack {pulumi.stack}"):
            result = pulumi(
                "up",
                "--plan",
                str(directory / PLAN_FILE),
                "--refresh",
                "--yes",
                "--diff",
                "--non-interactive",
                "--color",
                "never",
                *pulumi.pack_arguments(),
                extra_env={"PULUMI_EXPERIMENTAL": "true"},
            )
    except EngineInterrupted as stopped:
        if echo is not None:
            echo.write(stopped.completed.stdout + stopped.completed.stderr)
            echo.flush()
        raise
    text = result.stdout + result.stderr
    if echo is not None:
        echo.write(text)
    if result.returncode == 0:
        return text
    violation = _VIOLATION.search(text)
    if violation is None:
        raise OpsError(f"the update of {cfg.stack} failed: {_last_line(text)}", FAILED)
    name = violation.group("urn").rsplit("::", 1)[-1]
    began = f"Updating ({_backend_name(cfg)})" in text
    where = (
        "the update had begun: see its output above for what was applied"
        if began
        else "nothing was written (refused by the update's own preview, before any change)"
    )
    raise OpsError(
        f"refused: the update no longer matches the approved preview ({name}: {violation.group('what').strip()}); "
        f"{where}; re-run the preview and approve the new plan",
        REFUSED,
    )


# ---- the commands -------------------------------------------------------------------------------------------------
def _pulumi(args: argparse.Namespace, cfg: StackConfig, env: Mapping[str, str]) -> Pulumi:
    packs = tuple(args.policy_pack) if args.policy_pack is not None else POLICY_PACKS
    return Pulumi(_backend_name(cfg), Path(args.project_dir), env, policy_packs=packs)


def _commit(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    commit = args.commit or env.get("GITHUB_SHA") or ""
    if not commit:
        raise OpsError("--commit is required (the commit whose code runs; GITHUB_SHA in CI)")
    return commit


def run_plan(args: argparse.Namespace, io: Streams) -> int:
    env = dict(os.environ if io.env is None else io.env)
    try:
        cfg = _load(args.stack, Path(args.project_dir))
        if args.summary is not None:  # refused before the preview runs, not after it
            try:
                Path(args.summary).open("a").close()
            except OSError as exc:
                raise OpsError(f"cannot write the summary to {args.summary} (--summary): {exc.strerror}") from None
        pulumi = _pulumi(args, cfg, env)
        record, summary = make_plan(cfg, Path(args.out), _commit(args, env), pulumi)
        if args.summary is not None:
            with Path(args.summary).open("a") as target:
                target.write(summary)
        print(f"saved the plan of {record.stack} (commit {record.commit[:12]}) in {args.out}", file=io.out)
        return 0
    except OpsError as exc:
        print(f"ops plan: {exc}", file=io.err)
        return exc.code


def run_apply(args: argparse.Namespace, io: Streams) -> int:
    env = dict(os.environ if io.env is None else io.env)
    try:
        cfg = _load(args.stack, Path(args.project_dir))
        pulumi = _pulumi(args, cfg, env)
        apply_plan(cfg, Path(args.plan), _commit(args, env), args.head, pulumi, echo=io.out, journal=io.journal)
        print(f"applied the approved plan of {cfg.stack}", file=io.out)
        return 0
    except OpsError as exc:
        print(f"ops apply: {exc}", file=io.err)
        return exc.code


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, choices=list(STACKS))
    parser.add_argument("--commit", help="the commit whose code runs (default: GITHUB_SHA)")
    parser.add_argument(
        "--policy-pack", action="append", help=f"policy pack folder (repeatable; default {', '.join(POLICY_PACKS)})"
    )
    parser.add_argument("--project-dir", default=str(PROJECT_DIR), help=argparse.SUPPRESS)


def register(subparsers: Any) -> None:
    plan = command(subparsers, "plan", "preview with refresh and save the plan the approvers will approve", __doc__)
    _common(plan)
    plan.add_argument("--out", required=True, type=Path, help="folder for the plan, its record and its summary")
    plan.add_argument("--summary", type=Path, help="append the summary here too (the job's GITHUB_STEP_SUMMARY)")
    plan.set_defaults(handler=run_plan)
    apply = command(subparsers, "apply", "apply exactly a saved plan, or refuse before writing anything", __doc__)
    _common(apply)
    apply.add_argument("--plan", required=True, type=Path, help="the folder `ops plan --out` wrote")
    apply.add_argument("--head", help="the branch's newest commit now: a newer one than the plan's is refused")
    apply.set_defaults(handler=run_apply)
