"""The maya-infra policy pack: builds the PolicyPack from :data:`policy.rules.POLICIES`, nothing else.

Run by the engine, never imported: ``pulumi preview --policy-pack policy`` starts
``python -m pulumi.policy <engine> policy`` in ../venv, which runs this file. Constructing the
PolicyPack starts its gRPC server and blocks, so tests call the functions of policy.rules instead.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project: components/, workflows/, policy/

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)
from pulumi_policy.secret import Secret

import config
from policy import rules

_UNKNOWNS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


def _plain(value: Any) -> Any:
    """pulumi-policy's proxies as plain data; values unknown during preview become rules.UNKNOWN."""
    if isinstance(value, Secret):
        return _plain(value.value)
    if hasattr(value, "__getitem__") and not isinstance(value, str | bytes | list | dict):
        try:
            target = value["__target"]
        except (KeyError, TypeError, IndexError):
            target = None
        if target is not None:
            return _plain(target)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str) and value in _UNKNOWNS:
        return rules.UNKNOWN
    return value


def _resource(type_: str, urn: str, props: Any, opts: Any) -> rules.Resource:
    secret_outputs = getattr(opts, "additional_secret_outputs", None) or []
    return rules.Resource(
        type_,
        urn,
        _plain(props),
        frozenset(secret_outputs),
        protect=bool(getattr(opts, "protect", False)),
        delete_before_replace=bool(getattr(opts, "delete_before_replace", False)),
    )


@functools.cache
def _facts() -> rules.StackFacts:
    """This stack's expectations from the config the engine runs with; the other stack's from its file."""
    stack = pulumi.get_stack()
    raw = dict(runtime_config.get_config_env())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    own: config.StackConfig | None
    try:
        own = config.parse(stack, raw, secret_keys, require_secrets=False)
    except config.ConfigError:
        own = None  # the program reports its own config problems; the rules fall back to the resources
    other_name = rules.other_stack(stack)
    other: config.StackConfig | None = None
    if other_name is not None:
        try:
            other = config.load_from_stack_file(other_name)
        except config.ConfigError:
            other = None
    return rules.facts_from_config(own, other, stack)


def _resource_policy(policy: rules.Policy) -> ResourceValidationPolicy:
    check = policy.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        resource = _resource(args.resource_type, args.urn, args.props, args.opts)
        for message in check(resource):
            report(message, None)

    return ResourceValidationPolicy(
        name=policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=_LEVELS[policy.level],
    )


def _stack_policy(policy: rules.Policy) -> StackValidationPolicy:
    check = policy.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [_resource(r.resource_type, r.urn, r.props, r.opts) for r in args.resources]
        for message, urn in check(resources, _facts()):
            report(message, urn)

    return StackValidationPolicy(
        name=policy.name,
        description=policy.description,
        validate=validate,
        enforcement_level=_LEVELS[policy.level],
    )


_LEVELS = {rules.MANDATORY: EnforcementLevel.MANDATORY, rules.ADVISORY: EnforcementLevel.ADVISORY}

PolicyPack(
    name="maya-infra",
    policies=[_resource_policy(p) if p.resource_check else _stack_policy(p) for p in rules.POLICIES],
)
