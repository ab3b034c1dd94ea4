"""Railway: the token and its workspaces, the live schema, the rate limit, the PostgreSQL template, the
notification events, and what the custom domain needs — all through a client that cannot send a mutation.

Requests (against an existing project): apiToken, me, projects (one page per 100 projects), introspection,
regions, template, notificationRules, project, domains — about ten, a few seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import graphql

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import ClientSettings, RailwayClient
from components.railway.operations import Operation
from components.railway.providers.alerts import DEPLOYMENT_FAILURE_EVENTS
from components.railway.providers.database import placed
from config import NAMESPACE
from ops.preflight import schema
from ops.preflight.context import Run
from ops.preflight.readonly import ReadOnlyTransport
from ops.preflight.report import Check, failed, passed, skipped, warned

API_TOKEN = Operation("PreflightApiToken", "query PreflightApiToken { apiToken { workspaces { id name } } }")
ME = Operation("PreflightMe", "query PreflightMe { me { id email workspaces { id name } } }")
REGIONS = Operation("PreflightRegions", "query PreflightRegions { regions { id name } }")
INTROSPECTION = Operation("IntrospectionQuery", schema.INTROSPECTION)
#: Preflight's own documents (validated against the vendored schema by the tests, like every other).
DOCUMENTS = (API_TOKEN, ME, REGIONS, INTROSPECTION)

TOKENS_PAGE = "https://railway.com/account/tokens"
#: Requests a first ``up`` of one stack sends, about (bench/railway_requests.py): less than this left is a warning.
FIRST_UP_REQUESTS = 150
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
#: How an event type looks in Railway's event stream and webhooks: ``Deployment.failed``.
EVENT_NAME = re.compile(r"\b[A-Z][A-Za-z]+\.[a-z][A-Za-z_]+\b")


def client(run: Run, token: str) -> RailwayClient:
    """A read-only Railway client: refuses mutations itself, and its transport refuses them again."""
    settings = ClientSettings.of(run.cfg.railway, endpoint=run.railway_url())
    settings = ClientSettings(
        endpoint=settings.endpoint,
        requests_per_second=settings.requests_per_second,
        max_attempts=2,
        timeout_seconds=max(run.timeout, 30.0),
        backoff_cap_seconds=2.0,
        deadline_seconds=60.0,
        settle_seconds=0.0,
    )
    transport = ReadOnlyTransport("railway", run.ledger, graphql_paths=[urlsplit(settings.endpoint).path])
    return RailwayClient(token, settings, transport=transport, read_only=True)


class RailwayChecks:
    """Runs the Railway checks in order; later ones use what earlier ones found (workspace, project)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.cfg = run.cfg
        self.checks: list[Check] = []
        self.workspace_id: str | None = None
        self.project: dict[str, Any] | None = None
        self.live: Any = None

    def add(self, check: Check) -> None:
        self.checks.append(check)

    def all(self, *, schema_only: bool = False) -> list[Check]:
        """Every Railway check (``schema_only``: the token and the live schema, for the schema-drift job)."""
        if "railway" not in self.cfg.platforms:
            return [skipped("railway", f"{NAMESPACE}:platforms leaves Railway out of stack {self.run.stack}")]
        token, why = self.run.secrets.get("railwayToken")
        if token is None:
            return [failed("railway.token", "no Railway token", why)]
        with client(self.run, token) as c:
            if not self._token(c):
                return self.checks
            if schema_only:
                self._guarded(self._schema, c)
                return self.checks
            for step in (self._workspace, self._rate_limit, self._schema, self._project, self._template):
                if step is self._schema and "railway.schema" in self.run.skip:
                    self.add(skipped("railway.schema", "--skip railway.schema"))
                    continue
                self._guarded(step, c)
            self._guarded(self._notifications, c)
            try:
                self.run.notes["railway.domain_records"] = self.custom_domain_records(c)
            except errors.RailwayError:
                self.run.notes["railway.domain_records"] = None
        return self.checks

    def _guarded(self, step: Any, c: RailwayClient) -> None:
        """One step; its failure is its own row (a Railway error, or an answer of an unexpected shape)."""
        name = f"railway.{step.__name__.strip('_').replace('_', '-')}"
        try:
            step(c)
        except errors.RailwayError as exc:
            self.add(failed(name, str(exc), "see the message; re-run `python -m ops preflight` once Railway answers"))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.add(
                failed(
                    name,
                    f"Railway's answer has an unexpected shape ({type(exc).__name__}: {str(exc)[:200]})",
                    "compare the live schema (railway.schema) with the documents; the answer changed under the code",
                )
            )

    # ---- token and workspace ------------------------------------------------------------------------------
    def _token(self, c: RailwayClient) -> bool:
        """The token's kind and workspaces: ``apiToken`` (any API token), ``me`` (an account token only).

        When ``apiToken`` is refused, ``me`` decides: an account token whose workspaces ``me`` lists still
        passes (the docs do not say that every account token may introspect itself)."""
        me: dict[str, Any] | None = None
        try:
            workspaces = c.execute(API_TOKEN)["apiToken"]["workspaces"]
        except errors.NotAuthorizedError:
            try:
                me = c.execute(ME)["me"]
                workspaces = me.get("workspaces") or []
            except errors.NotAuthorizedError:
                workspaces = None
        except errors.RailwayError as exc:
            self.add(failed("railway.token", str(exc), "check railway.apiUrl and the network, then re-run"))
            return False
        if workspaces is None:
            self.add(
                failed(
                    "railway.token",
                    "Railway refused the token (apiToken: Not Authorized): wrong, expired, or a project token",
                    f"create an account token (or a workspace token) at {TOKENS_PAGE}, then "
                    f"`pulumi config set --secret {NAMESPACE}:railwayToken --stack {self.run.stack}`",
                )
            )
            return False
        self.run.notes["railway.workspaces"] = workspaces
        try:
            me = me or c.execute(ME)["me"]
            kind = f"account token of {me.get('email') or me.get('id')}"
        except errors.NotAuthorizedError:
            kind = "workspace token"
        names = ", ".join(f"{w['name']} ({w['id']})" for w in workspaces) or "none"
        self.add(passed("railway.token", f"{kind}; workspaces: {names}"))
        return True

    def _workspace(self, c: RailwayClient) -> None:
        workspaces = self.run.notes["railway.workspaces"]
        ids = {w["id"]: w["name"] for w in workspaces}
        wanted = self.cfg.railway.workspace_id
        setter = f"pulumi config set --path '{NAMESPACE}:railway.workspaceId' <id> --stack {self.run.stack}"
        if wanted:
            if wanted in ids:
                self.workspace_id = wanted
                self.add(passed("railway.workspace", f"railway.workspaceId {wanted} ({ids[wanted]}) is reachable"))
            else:
                self.add(
                    failed(
                        "railway.workspace",
                        f"the token has no access to railway.workspaceId {wanted}; it sees "
                        f"{', '.join(ids) or 'no workspace'}",
                        f"use a token of workspace {wanted} ({TOKENS_PAGE}) or fix the id: {setter}",
                    )
                )
            return
        if not ids:
            self.add(
                failed(
                    "railway.workspace",
                    "the token sees no workspace: projectCreate would have nowhere to go",
                    f'create an account token ("No workspace") or a workspace token at {TOKENS_PAGE}',
                )
            )
        elif len(ids) > 1:
            self.add(
                failed(
                    "railway.workspace",
                    f"the token sees {len(ids)} workspaces ({', '.join(ids)}) and railway.workspaceId is not set",
                    setter,
                )
            )
        else:
            (only,) = ids
            self.workspace_id = only
            self.add(
                warned(
                    "railway.workspace",
                    f"railway.workspaceId is not set; the token's only workspace is {ids[only]} ({only}); a project "
                    "created without a workspace id may be a temporary one (Railway expires those in 24 h)",
                    setter.replace("<id>", only),
                )
            )

    def _rate_limit(self, c: RailwayClient) -> None:
        headers = self.run.ledger.last_headers.get("railway")
        seen = {h: headers.get(h) for h in RATE_HEADERS} if headers is not None else {}
        if not any(seen.values()):
            self.add(warned("railway.rate-limit", "Railway sent no X-RateLimit-* headers: the budget is unknown"))
            return
        text = ", ".join(f"{k.rsplit('-', 1)[1]}={v}" for k, v in seen.items() if v)
        remaining = seen.get("x-ratelimit-remaining")
        if remaining is not None and remaining.isdigit() and int(remaining) < FIRST_UP_REQUESTS:
            self.add(
                warned(
                    "railway.rate-limit",
                    f"{text}: fewer than the ~{FIRST_UP_REQUESTS} requests a first `up` sends",
                    "wait for the reset, or raise the plan's limit, before the first `up`",
                )
            )
            return
        self.add(passed("railway.rate-limit", text))

    # ---- the live schema ----------------------------------------------------------------------------------
    def _schema(self, c: RailwayClient) -> None:
        try:
            data = c.execute(INTROSPECTION)
            self.live = schema.live_schema(data)
        except (errors.InvalidInputError, errors.NotAuthorizedError, TypeError, KeyError, ValueError) as exc:
            self.add(
                warned(
                    "railway.schema",
                    f"Railway answered no usable introspection ({str(exc)[:200]}): the documents cannot be checked "
                    "against the live schema",
                )
            )
            return
        result = schema.compare(self.live)
        self.run.notes["railway.schema"] = result
        if result.ok:
            self.add(passed("railway.schema", schema.summary(result)))
            return
        self.add(
            failed(
                "railway.schema",
                schema.summary(result),
                "Railway's schema changed under the product: fix the documents below, re-vendor "
                "tests/railway/schema.graphql (tests/railway/SOURCE.md)",
            )
        )
        for where, problems in sorted(result.refused.items()):
            self.add(failed(f"railway.document {where}", "; ".join(problems), "adapt this document to the live schema"))

    # ---- the project, the template, the notification events ------------------------------------------------
    def _project(self, c: RailwayClient) -> None:
        name = self.cfg.backend.project_name
        after: str | None = None
        for _ in range(50):  # 50 pages of 100 projects: a bound, not a limit anyone reaches
            page = c.execute(gql.PROJECTS, {"workspaceId": self.workspace_id, "after": after})["projects"]
            found = next((e["node"] for e in page["edges"] if e["node"]["name"] == name), None)
            if found is not None:
                self.project = c.execute(gql.PROJECT, {"id": found["id"]})["project"]
                envs = [e["node"]["name"] for e in self.project["environments"]["edges"]]
                self.add(passed("railway.project", f"project {name!r} exists ({found['id']}); environments: {envs}"))
                return
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        self.add(
            warned(
                "railway.project",
                f"no project {name!r} in the workspace: the first `up` creates it",
                f"if MAYA already runs under another name, adopt it first: "
                f"python -m ops adopt --stack {self.run.stack}",
            )
        )

    def _template(self, c: RailwayClient) -> None:
        if not self.cfg.has_railway_database:
            self.add(skipped("railway.template", "backend.database is external: no PostgreSQL template is deployed"))
            return
        template = c.execute(gql.TEMPLATE, {"code": "postgres"})["template"]
        config = template.get("serializedConfig") or {}
        if isinstance(config, str):
            config = json.loads(config)
        services = list((config.get("services") or {}).values())
        problems = []
        if len(services) != 1:
            problems.append(f"it declares {len(services)} services, the program expects one")
        service = services[0] if services else {}
        service_name = service.get("name")
        if service_name and service_name != "Postgres":
            problems.append(f"its service is named {service_name!r}; DATABASE_URL references ${{{{Postgres.…}}}}")
        if "DATABASE_URL" not in (service.get("variables") or {}):
            problems.append("its service exposes no DATABASE_URL variable (the backend's DATABASE_URL references it)")
        if not service.get("volumeMounts"):
            problems.append("its service mounts no volume (the data would not survive a redeploy)")
        region = self.cfg.backend.postgres_region
        placed_ok = all(
            (s.get("deploy") or {}).get("region") == region
            for s in (placed(config, region).get("services") or {}).values()
        )
        if not placed_ok:
            problems.append(f"its services cannot be placed in {region} (no deploy section to set)")
        regions = {r["id"] for r in c.execute(REGIONS)["regions"]}
        for key, wanted in (("backend.region", self.cfg.backend.region), ("backend.databaseRegion", region)):
            if wanted not in regions:
                problems.append(f"{key} {wanted} is not one of Railway's regions ({', '.join(sorted(regions))})")
        if problems:
            self.add(
                failed(
                    "railway.template",
                    f"template 'postgres' ({template.get('id')}): " + "; ".join(dict.fromkeys(problems)),
                    "fix the region in Pulumi.<stack>.yaml, or adapt "
                    "components/railway/providers/database.py to the template",
                )
            )
            return
        self.add(
            passed(
                "railway.template",
                f"template 'postgres' ({template.get('id')}): service {service_name!r} with DATABASE_URL and a volume, "
                f"placed in {region} (a Railway region)",
            )
        )

    def _notifications(self, c: RailwayClient) -> None:
        if self.cfg.monitoring is None:
            self.add(skipped("railway.notifications", "no maya-infra:monitoring: no notification rule is declared"))
            return
        ours = sorted(DEPLOYMENT_FAILURE_EVENTS)
        documented = self._documented_events()
        if documented is not None:
            missing = [e for e in ours if e not in documented]
            if missing:
                self.add(
                    failed(
                        "railway.notifications",
                        f"the live schema lists the event types {sorted(documented)}; {missing} are not among them",
                        "change DEPLOYMENT_FAILURE_EVENTS in components/railway/providers/alerts.py",
                    )
                )
            else:
                self.add(passed("railway.notifications", f"{ours} are documented event types"))
            return
        if self.workspace_id is None:
            self.add(skipped("railway.notifications", "no workspace known: the existing rules cannot be read"))
            return
        rules = c.execute(gql.NOTIFICATION_RULES, {"workspaceId": self.workspace_id, "projectId": None})
        accepted = sorted({e for r in rules["notificationRules"] for e in r.get("eventTypes") or []})
        deployment = [e for e in accepted if e.lower().startswith("deployment")]
        if set(ours) <= set(accepted):
            self.add(passed("railway.notifications", f"{ours} are used by an existing rule of the workspace"))
        elif deployment:
            self.add(
                failed(
                    "railway.notifications",
                    f"the workspace's rules name deployment events {deployment}; the program sends {ours}",
                    "align DEPLOYMENT_FAILURE_EVENTS in components/railway/providers/alerts.py with Railway's names",
                )
            )
        else:
            self.add(
                warned(
                    "railway.notifications",
                    f"cannot be confirmed: the schema lists no event names and no rule of the workspace uses "
                    f"deployment events (rules seen: {len(rules['notificationRules'])}); the program sends {ours}",
                    "create one deployment-failure rule in Railway (workspace settings → Notifications) and re-run",
                )
            )

    def _documented_events(self) -> set[str] | None:
        """Event names the live schema documents — an enum ``NotificationEventType``, or names such as
        ``Deployment.failed`` in the description of ``CreateNotificationRuleInput.eventTypes`` — if any (the
        vendored schema has neither: the field is a bare ``[String!]!``)."""
        if self.live is None:
            return None
        enum = self.live.type_map.get("NotificationEventType")
        if isinstance(enum, graphql.GraphQLEnumType):
            return set(enum.values)
        rule_input = self.live.type_map.get("CreateNotificationRuleInput")
        field = rule_input.fields.get("eventTypes") if isinstance(rule_input, graphql.GraphQLInputObjectType) else None
        names = set(EVENT_NAME.findall(field.description or "")) if field is not None else set()
        return names or None

    # ---- what the custom domain needs (for the DNS checks) -------------------------------------------------
    def custom_domain_records(self, c: RailwayClient) -> list[Mapping[str, Any]] | None:
        """Railway's required DNS records of ``backend.customDomain`` when the domain exists on Railway."""
        if self.project is None or not self.cfg.backend.custom_domain:
            return None
        envs = {e["node"]["name"]: e["node"]["id"] for e in self.project["environments"]["edges"]}
        services = {e["node"]["name"]: e["node"]["id"] for e in self.project["services"]["edges"]}
        env_id, service_id = envs.get(self.cfg.environment), services.get(self.cfg.backend.service_name)
        if env_id is None or service_id is None:
            return None
        domains = c.execute(
            gql.DOMAINS, {"projectId": self.project["id"], "environmentId": env_id, "serviceId": service_id}
        )["domains"]
        for domain in domains["customDomains"]:
            if domain["domain"] == self.cfg.backend.custom_domain:
                records: list[Mapping[str, Any]] = list((domain.get("status") or {}).get("dnsRecords") or [])
                return records
        return None
