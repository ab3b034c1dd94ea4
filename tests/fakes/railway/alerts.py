"""Notification rules: Railway's own alerting (workspace-wide, optionally narrowed to a project)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError

from tests.fakes.railway.base import NOT_AUTHORIZED, _mutation, _now, _query, _uid


class AlertsMixin:
    state: Any
    workspace_id: str
    _get: Any
    _get_project: Any
    _next_seq: Any

    # ---- notification rules (workspace-wide, optionally narrowed to a project; no name, no environment)
    def _notification_rule_view(self, rule: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rule.items() if not k.startswith("_")}

    def _notification_rule_input(self, input: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        """What Railway would store: event types and channels required non-empty, each channel a JSON object."""
        events = input.get("eventTypes", current.get("eventTypes"))
        configs = input.get("channelConfigs")
        if not events:
            raise GraphQLError("eventTypes must not be empty")
        channels = current.get("channels", [])
        if configs is not None:
            if not configs or any(not isinstance(c, Mapping) or not c.get("type") for c in configs):
                raise GraphQLError("channelConfigs must be non-empty objects with a type")
            now = _now()
            ws = current.get("workspaceId", self.workspace_id)
            channels = [
                {"id": _uid(), "config": dict(c), "createdAt": now, "updatedAt": now, "workspaceId": ws}
                for c in configs
            ]
        return {
            "eventTypes": list(events),
            "severities": list(input.get("severities") or current.get("severities") or []),
            "ephemeralEnvironments": bool(input.get("ephemeralEnvironments", current.get("ephemeralEnvironments"))),
            "channels": channels,
            "updatedAt": _now(),
        }

    @_query("notificationRules")
    def _q_notification_rules(self, info: Any, workspaceId: str, projectId: str | None = None) -> list[dict[str, Any]]:
        if workspaceId != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        rules = sorted(self.state.notification_rules.values(), key=lambda r: r["_seq"])
        return [self._notification_rule_view(r) for r in rules if projectId is None or r["projectId"] == projectId]

    @_mutation("notificationRuleCreate")
    def _m_notification_rule_create(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if input["workspaceId"] != self.workspace_id:
            raise GraphQLError(NOT_AUTHORIZED)
        if input.get("projectId") is not None:
            self._get_project(input["projectId"])
        rule = {
            "id": _uid(),
            "workspaceId": input["workspaceId"],
            "projectId": input.get("projectId"),
            "environmentId": None,
            "serviceId": None,
            "createdAt": _now(),
            "_seq": self._next_seq(),
            **self._notification_rule_input(input, {"workspaceId": input["workspaceId"]}),
        }
        self.state.notification_rules[rule["id"]] = rule
        return self._notification_rule_view(rule)

    @_mutation("notificationRuleUpdate")
    def _m_notification_rule_update(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        rule = self._get(self.state.notification_rules, id, "Notification rule not found")
        rule.update(self._notification_rule_input(input, rule))
        return self._notification_rule_view(rule)

    @_mutation("notificationRuleDelete")
    def _m_notification_rule_delete(self, info: Any, id: str) -> bool:
        self._get(self.state.notification_rules, id, "Notification rule not found")
        del self.state.notification_rules[id]
        return True
