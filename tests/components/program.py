"""Runs the real program under Pulumi mocks, from a stack's real config file plus test secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

import config
from program import build as build_stack
from tests.secrets import TEST_CHECKLY_SECRETS, TEST_SECRETS

RAILWAY = "pulumi-python:dynamic/railway:"


@dataclass(frozen=True)
class RegisteredOptions:
    """The resource options the engine would receive for one resource (the mocks' args do not carry them)."""

    type: str
    name: str
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

    def record_request(self, request: Any) -> None:
        self.options[request.name] = RegisteredOptions(
            type=request.type,
            name=request.name,
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

    def one(self, typ: str) -> pulumi.runtime.MockResourceArgs:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, got {[r.name for r in found]}"
        return found[0]


@dataclass
class ProgramRun:
    mocks: RecordingMocks
    outputs: dict[str, Any] = field(default_factory=dict)


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
    values.update(secret_values)
    return values, sorted(secret_values)


def run_program(
    stack_name: str,
    overrides: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    preview: bool = False,
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
        return pulumi.Output.from_input(exported).apply(run.outputs.update)

    program()
    return run


def _record_options(mocks: RecordingMocks) -> None:
    """Let the mock monitor hand each registration's options to ``mocks`` before it answers."""
    monitor = pulumi.runtime.settings.get_monitor()
    register = monitor.RegisterResource

    def recording(request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            mocks.record_request(request)
        return register(request)

    monitor.RegisterResource = recording


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)
