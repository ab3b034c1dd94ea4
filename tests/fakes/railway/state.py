"""What the fake holds: its objects, the requests it received and the faults armed on it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# ------------------------------------------------------------------------------------------ public types


@dataclass
class RecordedRequest:
    """One HTTP request the fake received (faulted and invalid ones included)."""

    operation_name: str | None
    root_fields: list[str]
    is_mutation: bool
    http_status: int | None  # None when the connection was dropped
    variables: dict[str, Any] | None = field(repr=False)  # as sent (may hold secrets: never printed)
    source: str | None  # the ?source= query parameter
    auth_kind: str  # "bearer" | "project" | "none" | "invalid"
    fault: str | None = None  # the injected fault kind that hit this request
    query: str | None = field(default=None, repr=False)
    error_messages: list[str] = field(default_factory=list)
    at: float = field(default_factory=time.monotonic)

    @property
    def is_write(self) -> bool:
        """A mutation (what the shared request log counts as a write)."""
        return self.is_mutation


@dataclass
class Fault:
    kind: str
    match: str | None
    times: int
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    message: str | None = None
    extensions: dict[str, Any] | None = None
    hits: int = 0  # requests it answered so far; it leaves the queue when hits reach times


@dataclass(repr=False)
class FakeState:
    """Plain dicts; ids are uuid4 strings. Keys starting with "_" are fake-internal bookkeeping."""

    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (service_id, environment_id) -> settings
    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # (project_id, environment_id, service_id or None for shared) -> {name: value}
    variables: dict[tuple[str, str, str | None], dict[str, str]] = field(default_factory=dict)
    service_domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_domains: dict[str, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)
    project_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # "token" holds the value
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    backups: dict[str, dict[str, Any]] = field(default_factory=dict)
    # volume_instance_id -> kind -> schedule
    backup_schedules: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    workflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    tcp_proxies: dict[str, dict[str, Any]] = field(default_factory=dict)
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    notification_rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> rule (channels inline)
    # soft-deleted rows still readable by id: table name -> id -> row with deletedAt (asynchrony.py)
    deleted: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    RESOURCE_TABLES = (
        "projects",
        "environments",
        "services",
        "instances",
        "variables",
        "service_domains",
        "custom_domains",
        "triggers",
        "project_tokens",
        "deployments",
        "volumes",
        "volume_instances",
        "backups",
        "backup_schedules",
        "tcp_proxies",
        "notification_rules",
    )

    def __repr__(self) -> str:  # counts only: values may be secrets
        sizes = ", ".join(f"{t}={len(getattr(self, t))}" for t in self.RESOURCE_TABLES)
        return f"FakeState({sizes})"
