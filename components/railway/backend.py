"""The FastAPI backend on Railway, for one stack.

By default one Railway project per stack (``backend.projectName``) whose environment is named after the
stack, so staging and production never share a project, an environment, a domain or a token. What it
declares is :func:`components.railway.plan.backend_plan` (shared with ``ops adopt``); this component turns
that list into resources, in its order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from components.railway import resources as rw
from components.railway.plan import Join, Planned, Ref, backend_plan
from components.railway.plan import project_description as project_description
from components.railway.providers.schema import KINDS
from components.safety import stateful
from config import NAMESPACE, StackConfig, envvars
from config.envvars import Target, Wiring


@dataclass(frozen=True)
class RailwayBackendArgs:
    config: StackConfig
    #: The values the platforms hand each other. This component fills in ``database_url`` (the reference to
    #: the PostgreSQL it declares, or the external URL) and takes the backend's variables from
    #: ``config.envvars``' table, DATABASE_URL included: no variable is special here.
    wiring: Wiring
    #: The external database URL when ``backend.database`` is ``external`` (a secret Output).
    external_database_url: pulumi.Input[str] | None = None
    #: Seconds between deployment polls (tests and the local rehearsal use a short one).
    poll_seconds: float | None = None


def _check_adopt_keys(cfg: StackConfig) -> None:
    """``maya-infra:adopt.railway`` pins ids by the adopt keys the kinds declare; anything else is a typo."""
    known = sorted(k.adopt_key for k in KINDS.values() if k.adopt_key)
    unknown = sorted(set(cfg.adopt.railway) - set(known))
    if unknown:
        raise pulumi.RunError(
            f"stack '{cfg.stack}': {NAMESPACE}:adopt.railway has {unknown}, which are not Railway kinds "
            f"ops adopt knows ({', '.join(known)}); fix: `pulumi config rm --path "
            f"'{NAMESPACE}:adopt.railway.{unknown[0]}' --stack {cfg.stack}`"
        )


class RailwayBackend(pulumi.ComponentResource):
    """Project, environment, PostgreSQL, service, its settings and variables, domains, trigger, CI token."""

    url: pulumi.Output[str]
    project_id: pulumi.Output[str]
    environment_id: pulumi.Output[str]
    service_id: pulumi.Output[str]
    project_token: pulumi.Output[str]
    service_domain: pulumi.Output[str]
    custom_domain_dns_records: pulumi.Output[list[dict[str, str]]] | None
    deployment_status: pulumi.Output[str]
    variable_names: pulumi.Output[list[str]]
    #: The PostgreSQL volume instance (None with an external database) and its backup schedule's kinds.
    volume_instance_id: pulumi.Output[str] | None
    backup_kinds: pulumi.Output[list[str]]
    #: Railway's rule mailing a failed or crashed deployment, or None without maya-infra:monitoring.
    deployment_alert: rw.NotificationRule | None
    #: The 5xx-rate poller's own project token (a secret), or None where nothing polls the rate.
    metrics_token: pulumi.Output[str] | None

    def __init__(self, name: str, args: RailwayBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("maya:railway:Backend", name, None, opts)
        cfg = args.config
        _check_adopt_keys(cfg)
        if cfg.backend.database == "external" and args.external_database_url is None:
            raise ValueError("backend.database is 'external' but no database URL was given")
        plan = backend_plan(
            cfg,
            lambda var: envvars.resolve(var, cfg, args.wiring),
            external_database_url=args.external_database_url,
            poll_seconds=args.poll_seconds,
        )
        # The names ("<name>-project", ...) are the Pulumi names in every state: never rename one.
        built = self._declare(name, cfg, plan)
        self._outputs(cfg, args, built)

    def _declare(self, name: str, cfg: StackConfig, plan: list[Planned]) -> dict[str, rw.RailwayResource]:
        """Each planned resource, its references resolved to the Outputs of those declared before it."""
        child = pulumi.ResourceOptions(parent=self)
        kept = stateful(cfg, child)  # protected and retained in production (components/safety.py)
        built: dict[str, rw.RailwayResource] = {}

        def resolve(value: Any) -> Any:
            if isinstance(value, Ref):
                return getattr(built[value.suffix], value.attr)
            if isinstance(value, Join):
                parts = [resolve(part) for part in value.parts]
                return pulumi.Output.all(*parts).apply(lambda r: value.sep.join(str(x) for x in r))
            if isinstance(value, Mapping):
                return {k: resolve(v) for k, v in value.items()}
            return value

        for item in plan:
            opts = kept if item.kept else child
            if item.depends_on:
                depends: list[pulumi.Resource] = [built[s] for s in item.depends_on]
                opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends))
            inputs = {k: resolve(v) for k, v in item.inputs.items()}
            built[item.suffix] = item.kind(f"{name}-{item.suffix}", opts=opts, **inputs)
        return built

    def _outputs(self, cfg: StackConfig, args: RailwayBackendArgs, built: Mapping[str, Any]) -> None:
        backend = cfg.backend
        project, service_domain = built["project"], built["domain"]
        postgres = built.get("postgres")
        self.project_id = project.id
        self.environment_id = built["environment"].id
        self.service_id = built["service"].id
        self.project_token = pulumi.Output.secret(built["ci-token"].token)
        metrics = built.get("metrics-token")
        self.metrics_token = pulumi.Output.secret(metrics.token) if metrics is not None else None
        database_url: Any = postgres.database_url_reference if postgres is not None else args.external_database_url
        args.wiring.database_url = pulumi.Output.secret(database_url)
        self.service_domain = service_domain.domain
        self.url = (
            pulumi.Output.concat("https://", backend.custom_domain) if backend.custom_domain else service_domain.url
        )
        custom = built.get("custom-domain")
        self.custom_domain_dns_records = custom.dns_records if custom is not None else None
        self.deployment_status = built["deployment"].status
        self.variable_names = pulumi.Output.from_input(sorted(v.name for v in envvars.for_target(cfg, Target.BACKEND)))
        self.volume_instance_id = postgres.volume_instance_id if postgres is not None else None
        backups = built.get("backups")
        self.backup_kinds = pulumi.Output.from_input(backups.kinds if backups is not None else [])
        self.deployment_alert = built.get("deploy-alert")
        self.register_outputs(
            {
                "url": self.url,
                "project_id": self.project_id,
                "environment_id": self.environment_id,
                "service_id": self.service_id,
                "project_token": self.project_token,
                "service_domain": self.service_domain,
                "deployment_status": self.deployment_status,
            }
        )
