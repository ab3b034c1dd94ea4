"""The variables the stack declares for one service (or, shared, for the whole environment) — by name.

**Ownership per name, recorded in the state.** ``owned`` lists the names this stack wrote; it is the only
thing a write or a delete ever touches:

* a declared name that changed or is new is **upserted** (``variableCollectionUpsert`` with
  ``replace: false`` and ``skipDeploys``: one request for all of them, naming only them);
* a name the stack owned and stopped declaring (dropped, renamed, moved to the other scope) is **deleted**
  (``variableDelete``, once per name; "not found" means it is already gone);
* a name the stack never declared — set by hand in the dashboard, by another tool, before adoption — is
  never read into the state and never written or deleted, by any ``up``, ``refresh`` or ``destroy``.
  ``python -m ops adopt --remove-undeclared-variables`` is the one way to remove such a name.

Names starting with ``RAILWAY_`` belong to Railway and are refused as declarations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure

from components.railway import errors
from components.railway import operations as gql
from components.railway.exactly_once import ADOPTED, CREATED
from components.railway.providers.adoption import RECORDED_REVISION, Extra, Runs
from components.railway.providers.base import VARIABLE_NAME, RailwayProvider, is_unknown, revision_of
from components.railway.providers.schema import RailwayResource, output, parent, setting

SHARED = "shared"


def scope_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """Railway's address of the set: project + environment, and the service (None: shared variables)."""
    return {
        "projectId": props["project_id"],
        "environmentId": props["environment_id"],
        "serviceId": props.get("service_id"),
    }


def set_id(props: Mapping[str, Any]) -> str:
    return f"{props['project_id']}:{props['environment_id']}:{props.get('service_id') or SHARED}"


def owned_names(olds: Mapping[str, Any], news: Mapping[str, Any] | None = None) -> set[str]:
    """The names the stack owns in a recorded state.

    States written before ownership was recorded have no ``owned``: an adopted set (``keep_undeclared``) only
    ever held declared names, so all of them are owned; any other set may hold names a refresh pulled in
    from the dashboard, so only names still declared are owned — a name dropped in that same ``up`` is left
    in place rather than risk deleting one nobody declared.
    """
    if olds.get("owned") is not None:
        return set(olds["owned"])
    recorded = set(olds.get("variables") or {})
    if olds.get("keep_undeclared") or news is None:
        return recorded
    return recorded & set(news.get("variables") or {})


class VariablesProvider(RailwayProvider):
    """The declared variables of one service (``service_id``) or of the environment (``service_id`` None)."""

    def validate(self, news: Mapping[str, Any]) -> list[CheckFailure]:
        variables = news.get("variables")
        if variables is None or (is_unknown(variables) and not isinstance(variables, Mapping)):
            return []
        if not isinstance(variables, Mapping):
            return [CheckFailure("variables", "must be a map of NAME -> value")]
        failures = []
        for name, value in variables.items():
            if not VARIABLE_NAME.match(name):
                failures.append(CheckFailure("variables", f"{name!r} is not a valid variable name"))
            elif name.startswith("RAILWAY_"):
                failures.append(CheckFailure("variables", f"{name} is reserved by Railway"))
            elif not is_unknown(value) and not isinstance(value, str):
                failures.append(CheckFailure("variables", f"the value of {name} must be a string"))
        return failures

    def _apply(
        self, props: Mapping[str, Any], before: Mapping[str, str], after: Mapping[str, str], owned: set[str]
    ) -> dict[str, Any]:
        """Upsert what changed (one request, those names only), then delete what the stack owned and no
        longer declares (one request per name). The revision is stamped between the two: Railway deploys
        after each ``variableDelete`` (it has no ``skipDeploys``), and a deployment made after the stamp
        carries every write, so the ``Deployment`` resource takes it over instead of deploying again."""
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed:
            self.client.execute(
                gql.VARIABLE_COLLECTION_UPSERT,
                {"input": {**scope_of(props), "variables": changed, "replace": False, "skipDeploys": True}},
            )
        revision = revision_of(dict(after))
        for name in sorted(owned - set(after)):
            with contextlib.suppress(errors.NotFoundError):  # already gone: the goal of the delete is reached
                self.client.execute(gql.VARIABLE_DELETE, {"input": {**scope_of(props), "name": name}})
        return {"revision": revision, "owned": sorted(after)}

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Looks first, like every create: a declared name already on Railway means the set existed before
        this state (adopted, or a state rebuilt from nothing): it is then ``adopted``, and never deleted."""
        declared = dict(inputs.get("variables") or {})
        remote = self.client.execute(gql.VARIABLES, scope_of(inputs))["variables"] or {}
        before = {k: v for k, v in remote.items() if k in declared}
        outs = self._apply(inputs, before, declared, set())
        return set_id(inputs), {**outs, "origin": ADOPTED if before else CREATED}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        after = dict(news.get("variables") or {})
        return self._apply(news, dict(olds.get("variables") or {}), after, owned_names(olds, news))

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self._apply(props, dict(props.get("variables") or {}), {}, owned_names(props))

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """The owned names only (a declared name deleted behind our back is drift the next ``up`` reverts);
        names nobody declared never enter the state."""
        remote = self.client.execute(gql.VARIABLES, scope_of(state))["variables"] or {}
        self._remote = remote
        names = owned_names(state) | set(state.get("variables") or {})
        return {"variables": {k: v for k, v in remote.items() if k in names}, "owned": state.get("owned")}

    # ---- adoption ---------------------------------------------------------------------------------------
    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        return [{"id": set_id(inputs), "name": "variables" if inputs.get("service_id") else "shared variables"}]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The declared names as they run: from now on the stack owns them (never the others)."""
        running = super()._running(id_, {**inputs, "owned": None}, node)
        if running is None:
            return None
        return {**running, "owned": sorted(running["variables"]), "revision": RECORDED_REVISION}

    def extras(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> list[Extra]:
        declared = set(inputs.get("variables") or {})
        return [
            Extra("variable", name, "-", "runs but is not declared: kept, never deleted")
            for name in sorted(getattr(self, "_remote", {}))
            if name not in declared and not name.startswith("RAILWAY_")
        ]


class Variables(RailwayResource, provider=VariablesProvider):
    """The declared variables of a service, or shared ones (``service_id=None``); values are secret."""

    project_id: pulumi.Input[str] = parent()
    environment_id: pulumi.Input[str] = parent()
    service_id: pulumi.Input[str] | None = parent(default=None)
    variables: pulumi.Input[Mapping[str, pulumi.Input[str]]] = setting(secret=True)
    #: States written before ownership per name was recorded carry it (adopted sets); nothing reads it now.
    keep_undeclared: bool | None = setting(default=None, local=True, compare=False)
    #: The names this stack wrote: the only ones it ever updates or deletes.
    owned: pulumi.Output[list[str]] = output()
    revision: pulumi.Output[str] = output(secret=True)
