"""No traceback anywhere in ``ops`` (issue 27): every subcommand meets a matrix of bad inputs — unknown ids,
unusable paths, malformed URLs, refused tokens, unreachable APIs, bad arguments — through ``python -m ops``'s
own ``main()`` (and a sample through a real process), and answers with ONE line, the exit code its docs give
(2 usage/configuration/credentials/refusal, 1 a platform that cannot be reached), never a traceback.

A configuration error is not retried (0 requests, at once) and names the variable to fix; an unreachable API
names its URL and the variable that set it, within seconds.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from config import PROJECT_DIR
from tests.ops.stacks_world import Stacks, two_stacks

pytestmark = pytest.mark.timeout(600)
FAST = ("--poll", "0.02")


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: int
    words: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    #: "none": refused before any request; "quick": a few seconds at most (an unreachable API)
    speed: str = "none"


@dataclass
class Paths:
    root: Path
    file: Path  # a regular file, where a folder is needed
    folder: Path  # a folder, where a file is needed
    missing: Path
    list_json: Path
    closed: str  # a loopback URL nothing listens on


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stacks, Paths]]:
    root = tmp_path_factory.mktemp("bad-inputs")
    file, folder, list_json = root / "a-file", root / "a-folder", root / "list.json"
    file.write_text("x")
    folder.mkdir()
    list_json.write_text("[]")
    with two_stacks(root / "stacks") as stacks:
        with socket.socket() as probe:  # a port that refuses connections: bound, then released (after the fakes)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield stacks, Paths(root, file, folder, root / "missing.json", list_json, f"http://127.0.0.1:{port}")


@pytest.fixture(autouse=True)
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials never come from a real `pulumi config get` here."""
    from ops import context

    def refuse(*args: str, stack: str, timeout: float = 120) -> str:
        raise context.OpsError("pulumi is not used in these tests")

    monkeypatch.setattr(context, "_pulumi", refuse)


#: Stack commands and the options that make them valid on staging's world ({backup}: staging's backup).
STACK_COMMANDS: dict[str, tuple[str, ...]] = {
    "status": (),
    "health": ("--attempts", "1"),
    "backups": (),
    "backup": FAST,
    "restore": ("--backup", "{backup}", "--yes", *FAST),
    "rollback backend": ("--yes", *FAST),
    "rollback frontend": ("--yes", *FAST),
    "previews": (),
}
RAILWAY_COMMANDS = ("status", "backups", "backup", "restore", "rollback backend", "previews")
VERCEL_COMMANDS = ("status", "rollback frontend")
MUTATING = ("backup", "restore", "rollback backend", "rollback frontend")
MALFORMED = ("not a url", "ftp://backboard.example/graphql", "http://backboard.example/graphql", "https://[::1")


def _stack(command: str, *more: str, stack: str = "staging") -> tuple[str, ...]:
    return (*command.split(), "--stack", stack, *more, *STACK_COMMANDS[command])


def cases(p: Paths) -> dict[str, Case]:
    """The matrix: ``id -> Case``."""
    out: dict[str, Case] = {}
    for command in STACK_COMMANDS:
        c = command.replace(" ", "-")
        out[f"{c}/unknown-stack"] = Case(_stack(command, stack="prod"), 2, ("unknown stack 'prod'",))
        out[f"{c}/outputs-missing"] = Case(_stack(command, "--outputs", str(p.missing)), 2, ("cannot read",))
        out[f"{c}/outputs-folder"] = Case(_stack(command, "--outputs", str(p.folder)), 2, ("cannot read",))
        out[f"{c}/outputs-list"] = Case(_stack(command, "--outputs", str(p.list_json)), 2, ("must be a JSON object",))
        env = {"MAYA_OPS_OUTPUTS": str(p.missing)}
        out[f"{c}/env-outputs-missing"] = Case(_stack(command), 2, ("cannot read", str(p.missing)), env)
    for command in RAILWAY_COMMANDS:
        c = command.replace(" ", "-")
        token = "RAILWAY_PREVIEW_TOKEN" if command == "previews" else "RAILWAY_API_TOKEN"
        for i, url in enumerate(MALFORMED):
            env = {"MAYA_RAILWAY_API_URL": url}
            out[f"{c}/railway-url-malformed-{i}"] = Case(
                _stack(command), 2, ("MAYA_RAILWAY_API_URL", "fix or unset"), env
            )
        out[f"{c}/railway-token-refused"] = Case(_stack(command), 2, ("refused the token", token), {token: "nope-x1"})
        env = {"MAYA_RAILWAY_API_URL": p.closed}
        out[f"{c}/railway-unreachable"] = Case(_stack(command), 1, (p.closed, "MAYA_RAILWAY_API_URL"), env, "quick")
        env = {"MAYA_RAILWAY_API_URL": "{vercel}/graphql/v2"}  # something answers there, but not Railway
        words = ("is not Railway's GraphQL API", "MAYA_RAILWAY_API_URL")
        out[f"{c}/railway-url-not-graphql"] = Case(_stack(command), 2, words, env, "quick")
    for command in VERCEL_COMMANDS:
        c = command.replace(" ", "-")
        env = {"MAYA_VERCEL_API_URL": "vercel.example"}
        out[f"{c}/vercel-url-malformed"] = Case(_stack(command), 2, ("MAYA_VERCEL_API_URL", "fix or unset"), env)
        out[f"{c}/vercel-token-refused"] = Case(_stack(command), 2, ("HTTP 403",), {"VERCEL_TOKEN": "nope-x2"})
        env = {"MAYA_VERCEL_API_URL": p.closed}
        out[f"{c}/vercel-unreachable"] = Case(_stack(command), 1, (p.closed, "MAYA_VERCEL_API_URL"), env, "quick")
    for command in MUTATING:
        c = command.replace(" ", "-")
        env = {"MAYA_OPS_LOCK_DIR": str(p.file / "locks")}
        out[f"{c}/lock-folder-unusable"] = Case(_stack(command), 2, ("MAYA_OPS_LOCK_DIR",), env)
    # unknown ids
    out["rollback-backend/unknown-to"] = Case(_stack("rollback backend", "--to", "dep-nope"), 2, ("dep-nope",))
    out["rollback-frontend/unknown-to"] = Case(_stack("rollback frontend", "--to", "dpl_nope"), 2, ("dpl_nope",))
    restore = ("restore", "--stack", "staging", "--backup", "bkp-nope", "--yes")
    out["restore/unknown-backup"] = Case(restore, 2, ("'bkp-nope' is not a backup",))
    # bad arguments (argparse): one line too
    out["rollback-backend/timeout-not-a-number"] = Case(_stack("rollback backend", "--timeout", "soon"), 2, ("soon",))
    out["restore/no-backup"] = Case(("restore", "--stack", "staging"), 2, ("--backup",))
    out["previews/bad-age"] = Case(_stack("previews", "--prune-older-than", "3w"), 2, ("36h or 3d",))
    out["health/negative-wait"] = Case(_stack("health", "--wait", "-1"), 2, ("--wait",))
    out["rollback/sideways"] = Case(("rollback", "sideways", "--stack", "staging"), 2, ("invalid choice",))
    out["no-command"] = Case((), 2, ("COMMAND",))
    # render-workflows
    out["render-workflows/out-under-a-file"] = Case(
        ("render-workflows", "--stack", "staging", "--out", str(p.file / "x")), 2, ("cannot write into", "--out")
    )
    out["render-workflows/out-unwritable"] = Case(
        ("render-workflows", "--stack", "staging", "--out", "/proc/maya-out"), 2, ("cannot write into",)
    )
    out["render-workflows/unknown-stack"] = Case(("render-workflows", "--stack", "prod", "--out", "x"), 2, ("prod",))
    # audit
    out["audit/missing-file"] = Case(("audit", str(p.missing)), 2, ("cannot read", str(p.missing)))
    out["audit/folder"] = Case(("audit", str(p.folder)), 2, ("cannot read",))
    out["audit/not-json"] = Case(("audit", str(p.file)), 2, ("cannot read",))
    out["audit/nothing"] = Case(("audit",), 2, ("give either a state file",))
    out["audit/postgres-not-a-postgres-url"] = Case(
        ("audit", "--postgres", "mysql://db/x", "--stack", "staging"), 2, ("not a postgres:// URL",)
    )
    out["audit/postgres-unreachable"] = Case(
        ("audit", "--postgres", p.closed.replace("http", "postgres") + "/pulumi", "--stack", "staging"),
        2,
        ("cannot read",),
        {},
        "quick",
    )
    # preflight (its checks' failures are rows of its table; these are its usage and configuration errors)
    local = ("--only", "state", "--backend", f"file://{p.folder}")  # the local state check only: no request
    out["preflight/unknown-stack"] = Case(("preflight", "--stack", "prod"), 2, ("unknown stack 'prod'",))
    out["preflight/unknown-family"] = Case(("preflight", "--stack", "staging", "--only", "bogus"), 2, ("--only bogus",))
    out["preflight/unknown-skip"] = Case(("preflight", "--stack", "staging", "--skip", "dns"), 2, ("--skip dns",))
    out["preflight/zero-timeout"] = Case(("preflight", "--stack", "staging", "--timeout", "0"), 2, ("--timeout",))
    summary = ("preflight", "--stack", "staging", *local, "--summary")
    out["preflight/summary-is-a-folder"] = Case((*summary, str(p.folder)), 2, ("cannot write", "--summary"))
    out["preflight/summary-under-a-file"] = Case((*summary, str(p.file / "s.md")), 2, ("cannot write",))
    # adopt (discovery only: no --yes, no terminal)
    adopt = ("adopt", "--stack", "staging")
    out["adopt/unknown-project-id"] = Case((*adopt, "--id", "project=prj-nope"), 2, ("--id project=prj-nope",))
    out["adopt/unknown-kind"] = Case((*adopt, "--id", "cluster=x"), 2, ("--id 'cluster=x'",))
    out["adopt/unknown-stack"] = Case(("adopt", "--stack", "prod"), 2, ("invalid choice",))
    for i, url in enumerate(MALFORMED[:2]):
        env = {"MAYA_RAILWAY_API_URL": url}
        out[f"adopt/railway-url-malformed-{i}"] = Case(adopt, 2, ("MAYA_RAILWAY_API_URL",), env)
    out["adopt/railway-token-refused"] = Case(adopt, 2, ("RAILWAY_API_TOKEN",), {"RAILWAY_API_TOKEN": "nope-x3"})
    env = {"MAYA_RAILWAY_API_URL": p.closed}
    out["adopt/railway-unreachable"] = Case(adopt, 1, (p.closed, "MAYA_RAILWAY_API_URL"), env, "quick")
    env = {"MAYA_GITHUB_API_URL": "github.example", "GITHUB_TOKEN": "gh-x"}
    out["adopt/github-url-malformed"] = Case(("adopt", "--stack", "production"), 2, ("MAYA_GITHUB_API_URL",), env)
    env = {"MAYA_GITHUB_API_URL": p.closed, "GITHUB_TOKEN": "gh-x"}
    words = ("cannot reach GitHub", p.closed, "MAYA_GITHUB_API_URL")
    # staging declares no GitHub settings (production's stack owns them, docs/trust.md): production reads GitHub
    out["adopt/github-unreachable"] = Case(("adopt", "--stack", "production"), 1, words, env, "quick")
    # the infra pipeline (issue 21): plan / apply / handoff / infra-environments
    plan = ("plan", "--stack", "staging")
    out["plan/unknown-stack"] = Case(("plan", "--stack", "prod", "--out", "x"), 2, ("invalid choice",))
    out["plan/no-out"] = Case(plan, 2, ("--out",))
    out["plan/out-under-a-file"] = Case((*plan, "--out", str(p.file / "x"), "--commit", "a" * 40), 2, ("--out",))
    summary = (*plan, "--out", str(p.root / "plan"), "--commit", "a" * 40, "--summary")
    out["plan/summary-is-a-folder"] = Case((*summary, str(p.folder)), 2, ("cannot write the summary", "--summary"))
    out["plan/no-commit"] = Case((*plan, "--out", str(p.folder)), 2, ("--commit is required", "GITHUB_SHA"))
    apply = ("apply", "--stack", "staging", "--commit", "a" * 40)
    out["apply/no-plan"] = Case(apply, 2, ("--plan",))
    out["apply/no-saved-plan"] = Case((*apply, "--plan", str(p.folder)), 2, ("holds no saved plan", "ops plan"))
    out["apply/plan-is-a-file"] = Case((*apply, "--plan", str(p.file)), 2, ("holds no saved plan",))
    out["handoff/unknown-stack"] = Case(("handoff", "--stack", "prod"), 2, ("invalid choice",))
    words = ("declares no other stack's GitHub settings",)
    out["handoff/staging-declares-nothing"] = Case(("handoff", "--stack", "staging"), 2, words)
    words = ("STAGING_PULUMI_CONFIG_PASSPHRASE", "own state credentials")
    out["handoff/without-stagings-credentials"] = Case(("handoff", "--stack", "production"), 2, words)
    environments = ("infra-environments",)
    out["infra-environments/no-token"] = Case(environments, 2, ("GITHUB_TOKEN is not set",), {"GITHUB_TOKEN": ""})
    env = {"MAYA_GITHUB_API_URL": p.closed, "GITHUB_TOKEN": "gh-x"}
    words = ("cannot reach GitHub", p.closed, "MAYA_GITHUB_API_URL")
    out["infra-environments/github-unreachable"] = Case(environments, 1, words, env, "quick")
    out["infra-environments/unknown-option"] = Case((*environments, "--stack", "staging"), 2, ("unrecognized",))
    return out


_PATHS = Paths(Path("/x"), Path("/x/f"), Path("/x/d"), Path("/x/m.json"), Path("/x/l.json"), "http://127.0.0.1:1")
CASE_IDS = sorted(cases(_PATHS))


def _message_lines(command: tuple[str, ...], out: str, err: str) -> list[str]:
    """The lines that carry the refusal: stderr; ``status`` reports a section's failure in place, on stdout."""
    if command[:1] == ("status",):
        return [line for line in (out + err).splitlines() if line.startswith("ops status")]
    return err.strip().splitlines()


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bad_input_is_one_line_and_the_documented_exit_code(world: tuple[Stacks, Paths], case_id: str) -> None:
    stacks, paths = world
    case = cases(paths)[case_id]
    argv = tuple(a.format(backup=stacks.stacks["staging"].backup_id) for a in case.argv)
    env = {**stacks.env("staging"), **{k: v.format(vercel=stacks.vercel.url) for k, v in case.env.items()}}
    stacks.reset()
    started = time.monotonic()
    ran = stacks.main(*argv, env=env)
    elapsed = time.monotonic() - started
    assert "Traceback" not in ran.text and "unexpected error" not in ran.text, ran.text
    assert ran.code == case.code, ran.text
    lines = _message_lines(argv, ran.out, ran.err)
    assert len(lines) == 1, ran.text
    for word in case.words:
        assert word in lines[0], (word, lines[0])
    aimed_at_vercel = any("{vercel}" in value for value in case.env.values())  # its POSTs are not writes then
    assert (stacks.railway.count(mutations_only=True) if aimed_at_vercel else stacks.writes()) == 0
    if case.speed == "none":
        assert "MAYA_RAILWAY_API_URL" not in case.env or stacks.railway.count() == 0  # a config error: no request
        assert elapsed < 10, elapsed  # never retried
    else:
        assert elapsed < 20, elapsed  # an unreachable API is reported within seconds


def test_the_matrix_covers_every_subcommand() -> None:
    from ops.__main__ import build_parser

    action = next(a for a in build_parser()._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    commands = set(action.choices)
    covered = {case_id.split("/")[0].split("-")[0] for case_id in CASE_IDS}
    covered |= {case_id.split("/")[0] for case_id in CASE_IDS}
    assert commands <= covered
    assert len(CASE_IDS) >= 80


def _cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv],
        cwd=PROJECT_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_sample_through_real_processes(world: tuple[Stacks, Paths]) -> None:
    """The same contract seen from a shell: exit status, one line on stderr, no traceback."""
    stacks, paths = world
    sample: list[tuple[tuple[str, ...], dict[str, str], int, Callable[[str], bool]]] = [
        (("backups", "--stack", "staging"), {"MAYA_RAILWAY_API_URL": "not a url"}, 2, lambda e: "fix or unset" in e),
        (("backups", "--stack", "staging"), {"MAYA_RAILWAY_API_URL": paths.closed}, 1, lambda e: paths.closed in e),
        (("render-workflows", "--stack", "staging", "--out", str(paths.file / "x")), {}, 2, lambda e: "--out" in e),
        (("adopt", "--stack", "staging", "--id", "project=prj-nope"), {}, 2, lambda e: "prj-nope" in e),
        (("restore", "--stack", "staging", "--backup", "x", "--timeout", "soon"), {}, 2, lambda e: "soon" in e),
    ]
    for argv, more, code, says in sample:
        done = _cli(*argv, env={**stacks.env("staging"), **more})
        assert "Traceback" not in done.stderr + done.stdout, done.stderr
        assert done.returncode == code and len(done.stderr.strip().splitlines()) == 1 and says(done.stderr), done


def test_an_error_nobody_foresaw_is_one_line_too(world: tuple[Stacks, Paths], monkeypatch: pytest.MonkeyPatch) -> None:
    """The last net of ``main()``: exit 1, one line, and how to see the traceback (MAYA_OPS_DEBUG=1)."""
    from ops import health

    stacks, _ = world

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(health, "check", broken)
    ran = stacks.main("health", "--stack", "staging", env=stacks.env("staging"))
    assert ran.code == 1 and "Traceback" not in ran.text
    (line,) = ran.err.strip().splitlines()
    assert "unexpected error (ZeroDivisionError: a bug)" in line and "MAYA_OPS_DEBUG=1" in line
    with pytest.raises(ZeroDivisionError):
        stacks.main("health", "--stack", "staging", env={**stacks.env("staging"), "MAYA_OPS_DEBUG": "1"})
