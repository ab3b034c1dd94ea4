"""Provider of Railway's own alerting: a notification rule that mails when a deployment fails or crashes.

Railway is the only party that sees every deployment of the service — the CI's ``railway up``, an
auto-deploy from the branch, a redeploy or a restart from the dashboard — and a running deployment that
crashes long after CI finished. ``notificationRuleCreate`` (public schema) subscribes channels to event
types of a workspace, optionally narrowed to one project.

What the schema does not say, and what this module therefore assumes in exactly one place each:

* event types are the webhook payload's ``type`` strings, ``Deployment.failed`` and ``Deployment.crashed``
  (Railway's webhook documentation, "Example payload");
* an e-mail channel is ``{"type": "email", "email": "<address>"}`` — modelled on the
  ``{"type": "webhook", "url": …}`` shape a community provider sends (jamesprnich/terraform-provider-railway,
  ``railway_notification_rule``). Check it once against the dashboard's network tab before relying on it;
  changing :func:`email_channel` and running ``pulumi up`` updates the rules in place.

A rule has no name, so ours is recognised by what it is: the same project, the same event types and the
same channels. ``create`` first looks for such a rule and adopts it (a rule made by a create whose answer
was lost is never made twice); ``read`` (refresh) lists the project's rules once and reports drift;
``delete`` of a rule that is already gone succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from components.railway import errors
from components.railway import operations as gql
from components.railway.providers.adoption import Runs
from components.railway.providers.base import RailwayProvider, is_unknown
from components.railway.providers.project import token_workspace
from components.railway.providers.schema import RailwayResource, output, parent, setting

#: What a failed or crashed deployment is called in Railway's event stream.
DEPLOYMENT_FAILURE_EVENTS = ("Deployment.failed", "Deployment.crashed")
#: Railway's NotificationSeverity enum.
SEVERITIES = ("CRITICAL", "INFO", "NOTICE", "WARNING")


def email_channel(address: str) -> dict[str, str]:
    """The channel config that mails ``address`` (the one place that knows its shape; see the module doc)."""
    return {"type": "email", "email": address}


def _canonical(configs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Channel configs in a stable order, so the order Railway lists them in is never a diff."""
    return sorted((dict(c) for c in configs), key=lambda c: sorted((k, str(v)) for k, v in c.items()))


class NotificationRuleProvider(RailwayProvider):
    """One Railway notification rule of a project: event types → channels (e-mail addresses)."""

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        configs = news.get("channel_configs")
        if (
            isinstance(configs, list | tuple)
            and not is_unknown(configs)
            and all(isinstance(c, Mapping) for c in configs)
        ):
            news = {**news, "channel_configs": _canonical(configs)}
        events = news.get("event_types")
        if isinstance(events, list | tuple) and not is_unknown(events):
            news = {**news, "event_types": sorted(events)}
        return super().check(olds, news)

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        failures = []
        events = news.get("event_types")
        if not is_unknown(events) and (not isinstance(events, list | tuple) or not events):
            failures.append(CheckFailure("event_types", f"{self.kind}: event_types must name at least one event"))
        configs = news.get("channel_configs")
        if not is_unknown(configs):
            if not isinstance(configs, list | tuple) or not configs:
                failures.append(CheckFailure("channel_configs", f"{self.kind}: at least one channel is needed"))
            elif any(not isinstance(c, Mapping) or not c.get("type") for c in configs):
                failures.append(CheckFailure("channel_configs", f"{self.kind}: every channel needs a 'type'"))
        severities = news.get("severities")
        if isinstance(severities, list | tuple) and not is_unknown(severities):
            bad = [s for s in severities if s not in SEVERITIES]
            if bad:
                failures.append(
                    CheckFailure("severities", f"{self.kind}: {bad} are not Railway severities {SEVERITIES}")
                )
        return failures

    # ---- Railway calls ---------------------------------------------------------------------------------
    def _workspace(self, inputs: Mapping[str, Any]) -> str:
        """The rule's workspace: the configured one, else the project's, else the token's own (rules live in
        a workspace; a project without one would otherwise send ``"None"``)."""
        given = inputs.get("workspace_id")
        if given:
            return str(given)
        project = self.client.execute(gql.PROJECT, {"id": inputs["project_id"]})["project"]
        return str(project.get("workspaceId") or token_workspace(self.client))

    def _rules(self, workspace_id: str, project_id: str) -> list[dict[str, Any]]:
        rules = self.client.execute(gql.NOTIFICATION_RULES, {"workspaceId": workspace_id, "projectId": project_id})
        return [r for r in rules["notificationRules"] if r.get("projectId") == project_id]

    @staticmethod
    def _shape(rule: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "event_types": sorted(rule.get("eventTypes") or []),
            "severities": sorted(rule.get("severities") or []) or None,
            "channel_configs": _canonical([c["config"] for c in rule.get("channels") or []]),
            "ephemeral_environments": bool(rule.get("ephemeralEnvironments")),
        }

    def _same(self, rule: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        shape = self._shape(rule)
        return shape["event_types"] == sorted(inputs["event_types"]) and shape["channel_configs"] == _canonical(
            inputs["channel_configs"]
        )

    def _payload(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "eventTypes": list(inputs["event_types"]),
            "channelConfigs": _canonical(inputs["channel_configs"]),
            "ephemeralEnvironments": bool(inputs.get("ephemeral_environments")),
        }
        if inputs.get("severities"):
            payload["severities"] = list(inputs["severities"])
        return payload

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        """A rule has no name: ours is the project's rule with the same event types and channels."""
        workspace = self._workspace(inputs)
        return [
            {**r, "workspace": workspace} for r in self._rules(workspace, inputs["project_id"]) if self._same(r, inputs)
        ]

    def label(self, node: Mapping[str, Any]) -> str:
        mailed = [str(c["config"].get("email", c["config"])) for c in node.get("channels") or []]
        return "deployment failures → " + ", ".join(mailed)

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if node is None:
            return self._read(id_, inputs)
        shape = self._shape(node)
        if inputs.get("severities") in (None, []) and shape["severities"] is None:
            shape["severities"] = inputs.get("severities")
        return {
            **shape,
            "project_id": node.get("projectId"),
            "rule_workspace_id": node["workspace"],
            "channel_count": len(node.get("channels") or []),
        }

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        workspace = self._workspace(inputs)

        def find() -> dict[str, Any] | None:
            return next((r for r in self._rules(workspace, inputs["project_id"]) if self._same(r, inputs)), None)

        payload = {**self._payload(inputs), "workspaceId": workspace, "projectId": inputs["project_id"]}
        # an identical rule (ours from a lost answer, or made by hand) is adopted, never duplicated
        outcome = self.create_exactly_once(
            f"of project {inputs['project_id']} for {', '.join(sorted(inputs['event_types']))}",
            find=find,
            send=lambda: self.client.execute(gql.NOTIFICATION_RULE_CREATE, {"input": payload})[
                "notificationRuleCreate"
            ],
        )
        rule = outcome.value
        return rule["id"], {
            "rule_workspace_id": workspace,
            "channel_count": len(rule.get("channels") or []),
            "origin": outcome.origin,
        }

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        rule = self.client.execute(gql.NOTIFICATION_RULE_UPDATE, {"id": id_, "input": self._payload(news)})[
            "notificationRuleUpdate"
        ]
        return {"channel_count": len(rule.get("channels") or [])}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.NOTIFICATION_RULE_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        workspace = state.get("rule_workspace_id") or self._workspace(state)
        rule = next((r for r in self._rules(str(workspace), str(state["project_id"])) if r["id"] == id_), None)
        if rule is None:
            raise errors.NotFoundError("NotificationRules", f"rule {id_} is gone")
        shape = self._shape(rule)
        if state.get("severities") in (None, []) and shape["severities"] is None:
            shape["severities"] = state.get("severities")
        # workspace_id stays what was configured (None: "the project's"); the one in use is rule_workspace_id
        return {**shape, "rule_workspace_id": workspace, "channel_count": len(rule.get("channels") or [])}


class NotificationRule(RailwayResource, provider=NotificationRuleProvider):
    """A Railway notification rule of a project: which events mail which addresses."""

    project_id: pulumi.Input[str] = parent()
    event_types: pulumi.Input[list[str]] = setting()
    channel_configs: pulumi.Input[list[dict[str, Any]]] = setting()
    workspace_id: pulumi.Input[str] | None = setting(default=None, replace=True, local=True)
    severities: pulumi.Input[list[str]] | None = setting(default=None)
    ephemeral_environments: pulumi.Input[bool] = setting(default=False)
    rule_workspace_id: pulumi.Output[str] = output()
    channel_count: pulumi.Output[int] = output()
