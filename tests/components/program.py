"""Runs the real program under Pulumi mocks, from a stack's real config file plus test secrets."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc

import config
from config.handoff import HANDOFF_DIR_ENV, HANDOFF_OUTPUT
from program import build as build_stack
from tests.secrets import TEST_CHECKLY_SECRETS, TEST_PRODUCTION_SECRETS, TEST_SECRETS

RAILWAY = "pulumi-python:dynamic/railway:"


@dataclass(frozen=True)
class RegisteredOptions:
    """The resource options the engine would receive for one resource (the mocks' args do not carry them)."""

    type: str
    name: str
    #: the URN the engine gives it (every parent's type included, as the state names it)
    urn: str
    #: the URN the mock monitor gave it (only the parent's type): what the mocks' dependencies name
    mock_urn: str
    protect: bool
    retain_on_delete: bool
    import_id: str
    delete_before_replace: bool
    aliases: tuple[str, ...]
    dependencies: tuple[str, ...]


class RecordingMocks(pulumi.runtime.Mocks):
    """Records every resource and its options; gives dynamic and provider resources plausible computed outputs."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        #: resource name -> the options it was registered with (components included)
        self.options: dict[str, RegisteredOptions] = {}

    def record_request(self, request: Any, urn: str, mock_urn: str) -> None:
        self.options[request.name] = RegisteredOptions(
            type=request.type,
            name=request.name,
            urn=urn,
            mock_urn=mock_urn,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            import_id=request.importId,
            delete_before_replace=bool(request.deleteBeforeReplace),
            aliases=tuple(str(a) for a in request.aliases),
            dependencies=tuple(request.dependencies),
        )

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state = dict(args.inputs)
        kind = args.typ.removeprefix(RAILWAY)
        computed: dict[str, Any] = {
            "ServiceDomain": {"domain": "backend-mock.up.railway.app", "url": "https://backend-mock.up.railway.app"},
            "ProjectToken": {"token": "mock-project-token-value"},
            "Postgres": {
                "service_id": "pg-id",
                "volume_id": "vol-id",
                "volume_instance_id": "vi-id",
                "database_url_reference": "${{Postgres.DATABASE_URL}}",
            },
            "ServiceInstance": {"revision": "rev-settings"},
            "Variables": {"revision": "rev-variables"},
            "Deployment": {"deployment_id": "dep-1", "status": "SUCCESS"},
            "Project": {"default_environment_id": "env-default"},
            "CustomDomain": {
                "dns_records": [{"type": "CNAME", "host": "api", "value": "x.up.railway.app"}],
                "verified": False,
                "certificate_status": "UNSPECIFIED",
            },
            "vercel:index/project:Project": {"team_id": "team_mock"},
            # Vercel generates the bypass secret (components/vercel.py reads it back)
            "vercel:index/projectProtectionBypass:ProjectProtectionBypass": {
                "secret": "mockBypassSecret0123456789abcdef"
            },
        }.get(kind, {})
        state.update(computed)
        if args.typ.startswith("checkly:"):  # Checkly ids are numbers (checks reference channels by number)
            return str(7000 + len(self.resources)), state
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def urn(self, resource: pulumi.runtime.MockResourceArgs) -> str:
        """The full URN of a recorded resource (its parent components' types included)."""
        return self.options[resource.name].urn

    def one(self, typ: str) -> pulumi.runtime.MockResourceArgs:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


@dataclass
class ProgramRun:
    mocks: RecordingMocks
    outputs: dict[str, Any] = field(default_factory=dict)
    #: the stack outputs that are Pulumi secrets (encrypted in the state, shown as [secret])
    secret_outputs: set[str] = field(default_factory=set)


def stack_config(
    stack_name: str, overrides: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The config the engine would hand the program: the stack file's values as JSON text, plus secrets."""
    raw, _ = config.read_stack_file(stack_name)
    merged: dict[str, Any] = {**raw, **(overrides or {})}
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in merged.items() if v is not None}
    secret_values = dict(TEST_SECRETS if secrets is None else secrets)
    platforms = merged.get("maya-infra:platforms") or []
    if secrets is None and stack_name == "production" and "checkly" in platforms:
        secret_values.update(TEST_CHECKLY_SECRETS)  # production's config requires the Checkly account
    if secrets is None and stack_name == "production":
        secret_values.update(TEST_PRODUCTION_SECRETS)  # the GitHub write token: production's alone
    values.update(secret_values)
    return values, sorted(secret_values)


def run_program(
    stack_name: str,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    preview: bool = False,
) -> ProgramRun:
    with staging_handoff() if stack_name == "production" else _nothing():
        return _run(stack_name, overrides, secrets, preview)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@cache
def _staging_handoff_dir() -> Path:
    """Staging's real program under mocks, its ``github_handoff`` output written where production reads it."""
    run = _run("staging", None, None, False)
    directory = Path(tempfile.mkdtemp(prefix="maya-handoff-"))
    (directory / "staging.json").write_text(json.dumps(run.outputs[HANDOFF_OUTPUT]))
    return directory


@contextmanager
def staging_handoff(directory: Path | None = None) -> Iterator[Path]:
    """Production's program reads staging's hand-off (config/handoff.py) from ``directory`` (default: staging's
    real program's, made once per session), unless a test set ``MAYA_HANDOFF_DIR`` itself."""
    given = os.environ.get(HANDOFF_DIR_ENV)
    chosen = Path(given) if given else (directory or _staging_handoff_dir())
    os.environ[HANDOFF_DIR_ENV] = str(chosen)
    try:
        yield chosen
    finally:
        if given is None:
            os.environ.pop(HANDOFF_DIR_ENV, None)
        else:
            os.environ[HANDOFF_DIR_ENV] = given


def _run(
    stack_name: str,
    overrides: Mapping[str, Any] | None,
    secrets: Mapping[str, str] | None,
    preview: bool,
) -> ProgramRun:
    global LAST_MOCKS
    mocks = LAST_MOCKS = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="maya-infra", stack=stack_name, preview=preview)
    _record_options(mocks)
    values, secret_keys = stack_config(stack_name, overrides, secrets)
    pulumi.runtime.set_all_config(values, secret_keys)
    run = ProgramRun(mocks)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        cfg = config.load_from_pulumi()
        exported = build_stack(cfg)

        async def secretness() -> None:
            for name, value in exported.items():
                if isinstance(value, pulumi.Output) and await value.is_secret():
                    run.secret_outputs.add(name)

        checked = pulumi.Output.from_input(asyncio.ensure_future(secretness()))
        return pulumi.Output.all(pulumi.Output.from_input(exported).apply(run.outputs.update), checked)

    program()
    return run


def _record_options(mocks: RecordingMocks) -> None:
    """Let the mock monitor hand each registration's options to ``mocks`` before it answers."""
    monitor = pulumi.runtime.settings.get_monitor()
    register = monitor.RegisterResource
    engine_urns: dict[str, str] = {}  # the mock's URN -> the engine's (the mock keeps only the parent's last type)

    def recording(request: Any) -> Any:
        response = register(request)
        parts = response.urn.split("::")
        parent = engine_urns.get(request.parent)
        parent_type = parent.split("::")[2] if parent else "pulumi:pulumi:Stack"
        qualified = request.type if parent_type == "pulumi:pulumi:Stack" else f"{parent_type}${request.type}"
        urn = "::".join([parts[0], parts[1], qualified, parts[-1]])
        engine_urns[response.urn] = urn
        if request.type != "pulumi:pulumi:Stack":
            mocks.record_request(request, urn, response.urn)
        return response

    monitor.RegisterResource = recording


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


HANDED_OFF = "maya:github:HandedOff$"  # components/handoff.py HANDED_OFF_TYPE, as it appears in a URN


@dataclass
class GitHubHalf:
    """The GitHub resources of one stack: production declares both halves (docs/trust.md), staging's under the
    handed-off component."""

    stack: str
    resources: list[pulumi.runtime.MockResourceArgs]

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str) -> pulumi.runtime.MockResourceArgs:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


def github_half(production: ProgramRun, stack: str) -> GitHubHalf:
    """``stack``'s GitHub resources in production's run (its own, or those it declares from the hand-off)."""
    handed = stack != "production"
    resources = [
        r
        for r in production.mocks.resources
        if r.typ.startswith("github:") and (HANDED_OFF in production.mocks.urn(r)) == handed
    ]
    return GitHubHalf(stack, resources)


def run_both(
    staging_overrides: Mapping[str, Any] | None = None, staging_secrets: Mapping[str, str] | None = None
) -> tuple[ProgramRun, ProgramRun]:
    """Staging's program, then production's declaring staging's GitHub half from that run's hand-off (the chain
    `pulumi up --stack staging` → `ops handoff` → `pulumi up --stack production` of docs/trust.md)."""
    staging = _run("staging", staging_overrides, staging_secrets, False)
    directory = Path(tempfile.mkdtemp(prefix="maya-handoff-"))
    (directory / "staging.json").write_text(json.dumps(staging.outputs[HANDOFF_OUTPUT]))
    given = os.environ.pop(HANDOFF_DIR_ENV, None)
    try:
        with staging_handoff(directory):
            production = _run("production", None, None, False)
    finally:
        if given is not None:
            os.environ[HANDOFF_DIR_ENV] = given
    return staging, production
