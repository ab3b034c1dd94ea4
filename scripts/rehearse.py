"""Local rehearsal of the real job: for staging then production, the saved-plan update CI runs
(`python -m ops plan`: `pulumi preview --refresh --save-plan` with the policy pack, its summary printed; then
`python -m ops apply`: `pulumi up --plan`), production after reading staging's hand-off (`python -m ops handoff`).

Everything runs on this machine with no account: the real Pulumi engine (built by scripts/provide-engine.sh),
one project with both stack files (as the repository), a local file:// state backend, test secrets, each stack
with its OWN passphrase and its OWN fake Railway workspace (a fake Railway API on 127.0.0.1 per workspace, which
behaves like Railway's public GraphQL API): the program refuses two stacks in one workspace (docs/trust.md).
The program, its config files and its Railway provider are the real ones. GitHub is included (the provider
plugin scripts/provide-plugins.sh builds, against a fake GitHub checked by GitHub's OpenAPI description,
tests/fakes/github/): production's stack declares both stacks' GitHub settings, staging's from its hand-off,
and its requests are printed next to Railway's. Platforms without a provider plugin on this machine (Vercel;
GitHub when its plugin cannot be built, or with --without-github) are left out with the documented
`maya-infra:platforms` setting, and the output says so. Production rehearsed alone (`--stack production`)
declares only its own GitHub half (staging's file then leaves GitHub out, in the rehearsal's copy).

Usage: scripts/rehearse.sh [--stack staging|production]... [--backend file|postgres] [--keep] [--without-github]
                           [--serve [--serve-minutes N]]

--backend postgres rehearses the team setup (docs/architecture.md, "State backend"): a real PostgreSQL server on
127.0.0.1 (Debian's package, installed by scripts/provide-postgres.sh when missing) holds both stacks'
state through `pulumi login postgres://…`, each stack with its own passphrase as each GitHub environment
holds its own; afterwards a read-only auditor role audits the stacks straight from the state table
(`python -m ops audit --postgres`). The server is stopped and removed at the end.

--serve (docs/oncall.md, "Try it on the local rehearsal"): after `pulumi up`, keep the fake Railway API (and
the fake GitHub) running, add a fake Vercel API and stand-ins for the stack's public endpoints, make the
stacks "unhealthy" (a bad backend deploy and a bad frontend deploy), open one pull-request preview on
staging, export each stack's state, write an outputs file and an env file per stack — everything `python -m
ops` needs, pointing at the fakes: status, health, rollback, backup(s), restore, previews, adopt (discovery)
and audit — print the commands, and serve until Ctrl-C (at most --serve-minutes). The stacks are destroyed
afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.railway import operations as gql
from components.railway.client import ClientSettings, RailwayClient
from components.railway.exactly_once import write_once
from tests.engine.github_world import fake_github, github_overrides, github_plugin_dir, use_plugin
from tests.engine.harness import PASSPHRASE, engine_bin, local_overrides, make_stack
from tests.engine.postgres import PostgresServer
from tests.fakes.github import FakeGitHub
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from tests.ops import world
from tests.ops.apps import FakeApp
from tests.secrets import TEST_GITHUB_TOKEN, TEST_SECRETS

REPO = Path(__file__).resolve().parent.parent
RAILWAY_IDS = ("railway_project_id", "railway_environment_id", "railway_service_id")


def _plugin_available(bin_dir: Path, name: str) -> bool:
    return (bin_dir / f"pulumi-resource-{name}").exists() or shutil.which(f"pulumi-resource-{name}") is not None


def _github_plugin_dir(bin_dir: Path) -> Path | None:
    """Where the GitHub plugin is: MAYA_GITHUB_PLUGIN (scripts/rehearse.sh sets it), the engine's folder, PATH,
    else scripts/provide-plugins.sh; None (GitHub left out, and the output says so) when it cannot be had."""
    given = os.environ.get("MAYA_GITHUB_PLUGIN")
    if given and Path(given).exists():
        return Path(given).parent
    if (bin_dir / "pulumi-resource-github").exists():
        return bin_dir
    found = shutil.which("pulumi-resource-github")
    if found:
        return Path(found).parent
    try:  # scripts/provide-plugins.sh github: cached after the first build
        return github_plugin_dir()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"GitHub provider plugin: {exc}", file=sys.stderr)
        return None


def _print_github_requests(label: str, fake: FakeGitHub, start: int, end: int | None = None) -> None:
    """The fake GitHub's requests from mark ``start`` to mark ``end`` (or now), by operationId."""
    requests = fake.since(start)[: None if end is None else end - start]
    writes = sum(1 for r in requests if r.is_write)
    failed = sum(1 for r in requests if r.problems)
    print(f"{label:<8} {len(requests)} requests ({writes} writes), failed validation: {failed}")
    for operation, count in sorted(Counter(r.operation_id or r.line for r in requests).items()):
        print(f"  {operation:<48} {count}")


def _banner(text: str) -> None:
    print(f"\n{'=' * 100}\n== {text}\n{'=' * 100}", flush=True)


def _env_file(path: Path, values: dict[str, str]) -> None:
    lines = ["# the local rehearsal's fakes (test credentials, loopback only); see docs/oncall.md"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")


def _open_preview(client: RailwayClient, ids: dict[str, str]) -> None:
    """One pull request's preview environment on staging (``pr-12``, forked, ephemeral), for `ops previews`."""
    project = ids["railway_project_id"]
    payload = {"projectId": project, "name": "pr-12", "sourceEnvironmentId": ids["railway_environment_id"]}

    def find() -> dict[str, Any] | None:
        environments = client.execute(gql.PROJECT, {"id": project})["project"]["environments"]["edges"]
        return next((e["node"] for e in environments if e["node"]["name"] == "pr-12"), None)

    write_once(
        client,
        "preview environment pr-12",
        find=find,
        send=lambda: client.execute(gql.ENVIRONMENT_CREATE, {"input": {**payload, "ephemeral": True}}),
    )


@contextmanager
def serving(
    fakes: FakeRailway | dict[str, FakeRailway],
    outputs: dict[str, dict[str, Any]],
    root: Path,
    *,
    github: FakeGitHub | None = None,
    engines: dict[str, dict[str, str]] | None = None,
) -> Iterator[list[str]]:
    """The on-call world of every stack while the block runs: the stacks made unhealthy, a fake Vercel,
    stand-in endpoints, one preview on staging, and per stack an outputs file and an env file (``root``)
    with everything `python -m ops` needs; yields each stack's guide (the commands to run).

    ``fakes``: each stack's fake Railway (its own workspace, docs/trust.md), or one for every stack. ``engines``:
    each stack's engine environment (PATH, PULUMI_BACKEND_URL, …), so that `pulumi stack export` in the env
    file's shell reads the rehearsal's state (what `ops audit` audits)."""
    railway_token = TEST_SECRETS["maya-infra:railwayToken"]
    vercel_token = TEST_SECRETS["maya-infra:vercelToken"]
    with ExitStack() as running:
        vercel = running.enter_context(FakeVercel(token="a-token-nobody-uses-7d0b"))  # noqa: S106 - a fake one
        # each stack names its own Vercel team (docs/trust.md): the operator's token is a member of both
        vercel.add_token(vercel_token, teams=tuple(str(_frontend_team(name)) for name in outputs))
        guides = []
        for index, (name, stack_outputs) in enumerate(outputs.items()):
            fake = fakes[name] if isinstance(fakes, dict) else fakes
            client = RailwayClient(railway_token, ClientSettings(endpoint=fake.url, requests_per_second=50))
            ci = fake.dashboard()  # CI's deploys: not maya-infra's, so not through its exactly-once rule
            ids = {k: str(stack_outputs[k]) for k in RAILWAY_IDS}
            good, bad = f"{index + 1:x}" * 40, f"b{index + 1:x}d" * 13 + "b"
            world.railway_deploy(ci, fake, ids, good)  # a good CI deploy, then a bad one: live and unhealthy
            world.railway_deploy(ci, fake, ids, bad)
            if name == "staging":
                _open_preview(client, ids)
            project_id = str(stack_outputs.get("vercel_project_id") or f"prj_rehearsal{name}")
            vercel.add_project(_frontend_project(name), project_id)
            shas = {k: hashlib.sha256(f"{name}/{k}".encode()).hexdigest()[:40] for k in world.VERCEL_HISTORY}
            history = world.vercel_history(vercel, project_id, shas)
            backend = running.enter_context(
                FakeApp({"/api/health": world.backend_health(fake, ids["railway_service_id"], [bad])})
            )
            frontend = running.enter_context(FakeApp({"/": world.frontend_page(vercel, project_id, [history["bad"]])}))
            served = {
                **stack_outputs,
                "platforms": sorted({*stack_outputs.get("platforms", []), "vercel"}),
                "backend_url": backend.url,
                "frontend_url": frontend.url,
                "vercel_project_id": project_id,
            }
            outputs_file = root / f"{name}.outputs.json"
            outputs_file.write_text(json.dumps(served, indent=2, sort_keys=True))
            values = {
                "MAYA_RAILWAY_API_URL": fake.url,
                "RAILWAY_API_TOKEN": railway_token,
                "RAILWAY_PREVIEW_TOKEN": railway_token,  # the fake knows one token; real previews have their own
                "MAYA_VERCEL_API_URL": vercel.url,
                "VERCEL_TOKEN": vercel_token,
                "MAYA_OPS_OUTPUTS": str(outputs_file),
            }
            if github is not None:  # `ops adopt` reads GitHub too (production's; it declares both halves)
                values.update(MAYA_GITHUB_API_URL=github.url, GITHUB_TOKEN=TEST_GITHUB_TOKEN)
            engine = (engines or {}).get(name)
            if engine is not None:  # `pulumi stack export --stack NAME` reads the rehearsal's state (`ops audit`)
                values.update({k: engine[k] for k in ENGINE_ENV if k in engine})
            env_file = root / f"oncall-{name}.env"
            _env_file(env_file, values)
            guides.append(_guide(name, env_file, bad, github is not None, engine is not None))
            client.close()
        yield guides


def _serve_oncall(
    fakes: FakeRailway | dict[str, FakeRailway],
    outputs: dict[str, dict[str, Any]],
    root: Path,
    minutes: float,
    *,
    github: FakeGitHub | None = None,
    engines: dict[str, dict[str, str]] | None = None,
) -> None:
    """Serve the on-call world (:func:`serving`) until Ctrl-C or ``minutes`` (docs/oncall.md)."""
    with serving(fakes, outputs, root, github=github, engines=engines) as guides:
        _banner("on-call rehearsal: the stacks are unhealthy (docs/oncall.md)")
        for guide in guides:
            print(guide)
        print(f"serving until Ctrl-C (at most {minutes:g} minutes) …", flush=True)
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stop.wait(max(0.0, minutes * 60))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print("stopping the on-call stand-ins", flush=True)


#: What the env file takes from a stack's engine environment so that `pulumi` in that shell reads its state.
ENGINE_ENV = ("PATH", "PULUMI_HOME", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK")


def _frontend_team(stack: str) -> str | None:
    from config import load_from_stack_file

    return load_from_stack_file(stack).frontend.team_id


def _frontend_project(stack: str) -> str:
    from config import load_from_stack_file

    return load_from_stack_file(stack).frontend.project_name


def _guide(name: str, env_file: Path, bad: str, github: bool, has_state: bool) -> str:
    cli = "venv/bin/python -m ops"
    lines = [
        f"{name}: the backend's live deployment runs commit {bad[:7]} (its /api/health fails) and the",
        f"frontend's production deployment answers 500. In another terminal, from {REPO}:",
        f"  source {env_file}",
        f"  {cli} status --stack {name}",
        f"  {cli} health --stack {name}",
        f"  {cli} rollback backend --stack {name}",
        f"  {cli} rollback frontend --stack {name}",
        f"  {cli} health --stack {name}",
        f"  {cli} backup --stack {name} --name before-042",
        f"  {cli} backups --stack {name}",
        f"  {cli} restore --stack {name} --backup <ID from backups>   # asks: every write since the backup is lost",
    ]
    if name == "staging":
        lines.append(f"  {cli} previews --stack {name}                # one preview, pr-12")
    if github:
        lines.append(f"  {cli} adopt --stack {name} < /dev/null        # discovery only: the table, nothing written")
    if has_state:
        lines.append(f"  pulumi stack export --stack {name} | {cli} audit -")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--stack",
        action="append",
        choices=["staging", "production"],
        help="stack to rehearse (repeatable; default: both)",
    )
    parser.add_argument(
        "--backend",
        choices=("file", "postgres"),
        default="file",
        help="state backend: a local folder, or a throwaway PostgreSQL server as a team would share (default file)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the stacks and the temp folder (no destroy)")
    parser.add_argument(
        "--serve",
        action="store_true",
        help="after `up`, serve the fakes for the on-call commands until Ctrl-C (docs/oncall.md)",
    )
    parser.add_argument(
        "--serve-minutes", type=float, default=60.0, help="with --serve: stop serving after this long (default 60)"
    )
    parser.add_argument("--without-github", action="store_true", help="leave GitHub out (to compare; docs/github.md)")
    args = parser.parse_args(argv)
    stacks = args.stack or ["staging", "production"]

    bin_dir = engine_bin()
    root = Path(tempfile.mkdtemp(prefix="maya-rehearsal-"))
    if args.backend == "postgres" and (args.keep or args.serve):
        parser.error("--backend postgres stops its server at the end: it cannot be combined with --keep or --serve")
    with ExitStack() as resources:
        postgres = resources.enter_context(PostgresServer()) if args.backend == "postgres" else None
        return _rehearse(args, stacks, bin_dir, root, postgres)


def _passphrase(name: str) -> str:
    """One passphrase per stack (each GitHub environment holds only its own; production reads staging's
    hand-off with staging's, docs/trust.md)."""
    return f"{PASSPHRASE}-{name}"


def _audit_from_the_table(postgres: PostgresServer, stacks: list[str]) -> bool:
    """What an auditor with SELECT only on the state table sees, and that it cannot write."""
    import psycopg

    password = postgres.add_reader("maya_auditor")
    reader = postgres.url("maya_auditor", "").replace("maya_auditor:@", "maya_auditor@")
    ok = True
    for name in stacks:
        _banner(f"{name}: python -m ops audit --postgres (role maya_auditor: SELECT on pulumi_state only)")
        audit = subprocess.run(
            [sys.executable, "-m", "ops", "audit", "--postgres", reader, "--stack", name, "--format", "json"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PGPASSWORD": password},
            check=False,
        )
        if audit.returncode not in (0, 1):
            print(audit.stderr, file=sys.stderr)
            ok = False
            continue
        report = json.loads(audit.stdout)
        print(json.dumps({k: report[k] for k in ("stack", "last_update", "result", "summary")}, indent=2))
    with psycopg.connect(reader, password=password, autocommit=True) as conn:
        try:
            conn.execute("UPDATE pulumi_state SET data = data")
            print("the auditor could write: the role is wrong", file=sys.stderr)
            ok = False
        except psycopg.errors.InsufficientPrivilege as exc:
            print(f"auditor's write attempt refused by the database: {str(exc).splitlines()[0]}")
    return ok


def _ops(stack: Any, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m ops <args>` on the rehearsal's project, as the CI job runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ops", *args, "--stack", stack.name, "--project-dir", str(stack.project_dir)],
        cwd=REPO,
        env={**os.environ, **stack.env, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def _checked(result: subprocess.CompletedProcess[str], what: str) -> str:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout[-4000:]}{result.stderr[-3000:]}")
    return result.stdout


def _saved_plan_update(stack: Any, root: Path) -> None:
    """The CI job: a saved plan (its summary is what the approvers read), then exactly that plan."""
    plan = root / f"plan-{stack.name}"
    commit = "0" * 40  # the rehearsal's stand-in for the pushed commit
    _banner(f"{stack.name}: python -m ops plan (pulumi preview --refresh --save-plan, with the policy pack)")
    _checked(_ops(stack, "plan", "--out", str(plan), "--commit", commit), "ops plan")
    print((plan / "summary.md").read_text())
    _banner(f"{stack.name}: python -m ops apply (pulumi up --plan, after the approval)")
    applied = _checked(_ops(stack, "apply", "--plan", str(plan), "--commit", commit, "--head", commit), "ops apply")
    print(applied[-6000:])


def _rehearse(
    args: argparse.Namespace, stacks: list[str], bin_dir: Path, root: Path, postgres: PostgresServer | None
) -> int:
    github_dir = None if args.without_github else _github_plugin_dir(bin_dir)
    platforms = ["railway"] + [p for p in ("vercel",) if _plugin_available(bin_dir, p)]
    platforms += ["github"] if github_dir is not None else []
    left_out = sorted({"vercel", "github"} - set(platforms))
    stacks = [s for s in ("staging", "production") if s in stacks]  # staging first: it hands production its values
    if postgres is None:
        print(
            f"engine: {bin_dir}\nstate:  file://{root}/state (passphrase-encrypted secrets, one passphrase per stack)"
        )
    else:
        print(
            f"engine: {bin_dir}\nstate:  postgres://pulumi_state:…@127.0.0.1:{postgres.port}/pulumi "
            "(a real PostgreSQL server; one passphrase per stack)"
        )
    if left_out:
        print(
            f"left out (no provider plugin on this machine): {', '.join(left_out)} — "
            "set by maya-infra:platforms; see README, 'Platforms'"
        )

    failed = False
    outputs: dict[str, dict[str, Any]] = {}
    made: dict[str, Any] = {}  # name -> EngineStack
    token = TEST_SECRETS["maya-infra:railwayToken"]
    with ExitStack() as fakes:
        railways = {
            name: fakes.enter_context(FakeRailway(token=token, workspace_id=f"ws-{name}", deploy_polls_to_finish=2))
            for name in stacks
        }
        for name, fake in railways.items():
            print(f"fake Railway API ({name}'s workspace {fake.workspace_id}): {fake.url}")
        github = fakes.enter_context(fake_github(stacks)) if github_dir is not None else None
        if github is not None:
            print(
                f"fake GitHub API:  {github.url} (checked against GitHub's OpenAPI description {github.judge.version})"
            )
        for name in stacks:
            fake = railways[name]
            overrides = local_overrides(fake.url, platforms, workspace=fake.workspace_id)
            if github is not None:
                overrides = {
                    **overrides,
                    **github_overrides(fake.url, github.url, fake.workspace_id),
                    "maya-infra:platforms": platforms,
                }
            stack = make_stack(
                root,
                name,
                overrides,
                bin_dir=bin_dir,
                backend_url=postgres.url() if postgres is not None else None,
                passphrase=_passphrase(name),
            )
            made[name] = stack
            if not (stack.project_dir / "policy").exists():  # the policy pack every plan and update runs
                shutil.copytree(
                    REPO / "policy", stack.project_dir / "policy", ignore=shutil.ignore_patterns("__pycache__")
                )
            if github is not None and github_dir is not None:
                use_plugin(stack, github_dir)
            try:
                if name == "production" and github is not None:
                    if "staging" in stacks:
                        staging = made["staging"]
                        _banner(
                            "production: python -m ops handoff (staging's GitHub values, with staging's credentials)"
                        )
                        staging_env = {
                            "STAGING_PULUMI_BACKEND_URL": staging.env["PULUMI_BACKEND_URL"],
                            "STAGING_PULUMI_CONFIG_PASSPHRASE": staging.env["PULUMI_CONFIG_PASSPHRASE"],
                        }
                        print(_checked(_ops(stack, "handoff", env=staging_env), "ops handoff"))
                    else:
                        _leave_github_out_of_staging(stack.project_dir)
                        print("production alone: staging's GitHub half is left out (staging is not rehearsed)")
                github_mark = github.mark() if github is not None else 0
                fake.reset_counters()
                _saved_plan_update(stack, root)
                _banner(f"{name}: stack outputs")
                outputs[name] = stack.outputs()
                shown = {k: v for k, v in outputs[name].items() if k != "github_handoff"}  # a secret output
                print(json.dumps(shown, indent=2, sort_keys=True))
                _banner(f"{name}: Railway API requests (its workspace's fake)")
                requests = fake.counts()
                print(f"plan + apply: {sum(requests.values())} requests")
                for operation, count in sorted(requests.items()):
                    print(f"  {operation:<32} {count}")
                if github is not None:
                    _banner(f"{name}: GitHub API requests (fake's log, by operationId)")
                    _print_github_requests("plan+up:", github, github_mark)
            except Exception as exc:  # report and go on to clean up
                failed = True
                print(f"\nrehearsal of {name} failed: {exc}", file=sys.stderr)
        if postgres is not None and not failed:
            _banner("the state table (pulumi_state): one row per state file")
            for key in postgres.state_keys():
                print(f"  {key}")
            failed = not _audit_from_the_table(postgres, stacks)
        if args.serve and not failed:
            engines = {name: stack.env for name, stack in made.items()}
            _serve_oncall(railways, outputs, root, args.serve_minutes, github=github, engines=engines)
        if not args.keep:
            for stack in reversed(list(made.values())):  # production first: it holds staging's GitHub half
                _banner(f"{stack.name}: clean-up (pulumi destroy)")
                stack.destroy_deliberately(on_output=print)
            empty = all(f.is_empty() for f in railways.values())
            print(
                f"\nfake Railway APIs empty after clean-up: {empty} "
                "(production's project, environment, service, database and custom domain are retained on delete)"
            )
            if github is not None:
                print(
                    f"fake GitHub API empty after clean-up: {github.is_empty()} "
                    "(production's GitHub environments are retained on delete)"
                )
        if github is not None:
            problems = github.problems
            print(f"GitHub requests that failed validation against the description: {len(problems)}")
            for line in problems:
                print(f"  {line}")
            failed = failed or bool(problems) or bool(github.leaks)
    if args.keep:
        print(f"\nkept: {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    print("\nrehearsal " + ("FAILED" if failed else "succeeded") + ". The real job: README, 'First deploy'.")
    return 1 if failed else 0


def _leave_github_out_of_staging(project_dir: Path) -> None:
    """Production rehearsed alone: staging's stack file in the rehearsal's copy leaves GitHub out, so production
    declares its own half only (there is no staging run to hand its values over)."""
    import yaml

    path = project_dir / "Pulumi.staging.yaml"
    document = yaml.safe_load(path.read_text())
    platforms = document["config"].get("maya-infra:platforms") or []
    document["config"]["maya-infra:platforms"] = [p for p in platforms if p != "github"]
    path.write_text(yaml.safe_dump(document, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
