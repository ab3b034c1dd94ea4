"""The project and its environments; the workspace's projects listed in one place; the token's workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pulumi

from components.railway import errors
from components.railway import operations as gql
from components.railway.client import RailwayClient
from components.railway.exactly_once import ADOPTED, CREATED
from components.railway.providers.adoption import Extra, Runs
from components.railway.providers.base import RailwayProvider, edges
from components.railway.providers.schema import RailwayResource, output, parent, setting

#: What marks a project as made by this program for one stack, written into its description.
MARKER = re.compile(r"managed by maya-infra \(stack ([^()]+)\)")
#: What marks a project this program adopted (it existed before; never deleted), in the same place.
ADOPTED_MARKER = re.compile(r"adopted by maya-infra \(stack ([^()]+)\)")
#: The most pages of projects one listing reads (100 each): a misbehaving cursor never loops forever.
MAX_PAGES = 50


def marker(stack: str) -> str:
    """The text that, in a project's description, says "this stack created me" (see ``ProjectProvider``)."""
    return f"managed by maya-infra (stack {stack})"


def adopted_marker(stack: str) -> str:
    """The text that says "this stack adopted me": a state rebuilt from nothing still never deletes it."""
    return f"adopted by maya-infra (stack {stack})"


def for_origin(description: str, origin: str | None) -> str:
    """The description as written for an object of that origin: an adopted project carries the adopted
    marker where the declaration says "managed by"."""
    if origin != ADOPTED:
        return description
    return MARKER.sub(lambda m: adopted_marker(m.group(1)), description)


def projects(client: RailwayClient, workspace_id: str | None) -> Iterator[dict[str, Any]]:
    """Every project of the workspace (of the token's, without one), page by page: the one paging loop."""
    after = None
    for _ in range(MAX_PAGES):
        page = client.execute(gql.PROJECTS, {"workspaceId": workspace_id, "after": after})["projects"]
        yield from edges(page)
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def token_workspace(client: RailwayClient) -> str:
    """The workspace of the token, when it sees exactly one; otherwise one line naming the setting."""
    workspaces = client.execute(gql.API_TOKEN_WORKSPACES, {})["apiToken"]["workspaces"]
    if len(workspaces) == 1:
        return str(workspaces[0]["id"])
    seen = ", ".join(f"{w['name']} ({w['id']})" for w in workspaces) or "none"
    raise errors.InvalidInputError(
        "ApiToken",
        f"the project has no workspace and the Railway token sees {len(workspaces)} workspaces ({seen}): set "
        "railway.workspaceId (`pulumi config set --path 'maya-infra:railway.workspaceId' <id>`)",
    )


def _root(path: str | None) -> str:
    return (path or "").strip("/")


def runs_there(instance: Mapping[str, Any], runs: Runs) -> bool:
    """Does this service instance run the backend's repository (and root directory)?"""
    repo = (instance.get("source") or {}).get("repo")
    if not runs.source_repo or repo != runs.source_repo:
        return False
    return runs.root_directory is None or _root(instance.get("rootDirectory")) == _root(runs.root_directory)


def _environments_running(node: Mapping[str, Any], runs: Runs) -> list[dict[str, Any]]:
    return [
        env
        for env in edges(node.get("environments"))
        if any(runs_there(i, runs) for i in edges(env.get("serviceInstances")))
    ]


class ProjectProvider(RailwayProvider):
    """A Railway project. Natural key: workspace + name.

    A project found by name before anything was sent is ours (``origin: created``) only if its
    description carries the marker of the description we would write (``managed by maya-infra (stack
    staging)``) — then it is what an interrupted run of ours made. Otherwise it is ``adopted``: it is
    managed from now on, but never deleted by this stack, and its description says so (``adopted by
    maya-infra (stack …)``, :func:`for_origin`), so that a state rebuilt from nothing adopts it again.
    Adoption also recognises it by what it runs: an environment with a service built from the backend's
    repository.
    """

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        listed = list(projects(self.client, inputs.get("workspace_id")))
        named = [p for p in listed if p["name"] == inputs["name"]]
        if named or runs is None:
            ours = [p for p in named if self._is_ours(inputs.get("description") or "", p.get("description"))]
            return ours + [p for p in named if p not in ours]
        return [p for p in listed if _environments_running(p, runs)]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The listing that found the project holds what runs (one request for both)."""
        if node is None:
            return super()._running(id_, inputs, node)
        return {
            "name": node["name"],
            "description": node.get("description") or "",
            "workspace_id": node.get("workspaceId") if inputs.get("workspace_id") else None,
            "default_environment_id": self._default_env(node, inputs),
        }

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        payload = {
            "name": inputs["name"],
            "description": inputs.get("description") or "",
            "workspaceId": inputs.get("workspace_id"),
            "defaultEnvironmentName": inputs.get("default_environment_name") or "production",
        }
        outcome = self.create_exactly_once(
            f"{inputs['name']!r} (workspace {inputs.get('workspace_id') or 'of the token'})",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(gql.PROJECT_CREATE, {"input": payload})["projectCreate"],
        )
        project = outcome.value
        origin = outcome.origin
        if origin == ADOPTED and self._is_ours(payload["description"], project.get("description")):
            origin = CREATED
        computed: dict[str, Any] = {"default_environment_id": self._default_env(project, inputs), "origin": origin}
        if origin == ADOPTED:
            computed["description"] = project.get("description") or ""  # what runs: the next up marks it adopted
        return project["id"], computed

    @staticmethod
    def _default_env(project: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
        envs = {e["name"]: e["id"] for e in edges(project.get("environments"))}
        return envs.get(inputs.get("default_environment_name") or "production") or next(iter(envs.values()), None)

    @staticmethod
    def _is_ours(wanted: str, found: str | None) -> bool:
        mark = MARKER.search(wanted or "")
        return mark is not None and mark.group(0) in (found or "")

    def as_written(self, olds: Mapping[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """The description is compared as it is written for the recorded origin (an adopted one says so)."""
        description = news.get("description")
        if isinstance(description, str):
            return {**news, "description": for_origin(description, olds.get("origin"))}
        return news

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        description = for_origin(news.get("description") or "", olds.get("origin"))
        written = {"name": news["name"], "description": description}
        self.client.execute(gql.PROJECT_UPDATE, {"id": id_, "input": written})
        return {"description": description} if description != (news.get("description") or "") else {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self.client.execute(gql.PROJECT_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        project = self.client.execute(gql.PROJECT, {"id": id_})["project"]
        if project.get("deletedAt"):
            return None
        workspace = state.get("workspace_id")  # None means "the token's default": nothing to compare
        return {
            "name": project["name"],
            "description": project.get("description") or "",
            "workspace_id": project.get("workspaceId") if workspace else None,
            "default_environment_id": self._default_env(project, state),
        }


class Project(RailwayResource, provider=ProjectProvider, adopt_key="project"):
    """A Railway project (``backend.projectName``), described with the marker of its origin."""

    name: pulumi.Input[str] = setting(required=True)
    description: pulumi.Input[str] = setting(default="")
    workspace_id: pulumi.Input[str] | None = setting(default=None, replace=True)
    default_environment_name: pulumi.Input[str] = setting(
        replace=True, write_only="Railway names the default environment only when it creates the project"
    )
    default_environment_id: pulumi.Output[str] = output()


class EnvironmentProvider(RailwayProvider):
    """An environment of a project. Natural key: project + name.

    Found before anything was sent — e.g. the project's default environment, made by ``projectCreate`` —
    it is adopted (``origin: adopted``, and ``adopted: true`` as states before ``origin`` recorded it), so
    it is never deleted on its own: it goes with its project. Adoption also recognises it as the one
    environment where the backend's repository runs.
    """

    def candidates(self, inputs: Mapping[str, Any], runs: Runs | None = None) -> list[dict[str, Any]]:
        envs = edges(self.client.execute(gql.ENVIRONMENTS, {"projectId": inputs["project_id"]})["environments"])
        self._listed = envs
        named = [e for e in envs if e["name"] == inputs["name"]]
        if named or runs is None:
            return named
        return [e for e in envs if any(runs_there(i, runs) for i in edges(e.get("serviceInstances")))]

    def _running(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if node is None:
            running = super()._running(id_, inputs, node)
            return None if running is None else {**running, "adopted": True}
        return {"name": node["name"], "project_id": inputs["project_id"], "adopted": True}

    def extras(self, id_: str, inputs: Mapping[str, Any], node: Mapping[str, Any] | None) -> list[Extra]:
        others = [e for e in getattr(self, "_listed", []) if e["id"] != id_]
        return [Extra("environment", e["name"], e["id"], "not this stack's; left alone") for e in others]

    def _create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        outcome = self.create_exactly_once(
            f"{inputs['name']!r}",
            find=lambda: self.find(inputs),
            send=lambda: self.client.execute(
                gql.ENVIRONMENT_CREATE, {"input": {"projectId": inputs["project_id"], "name": inputs["name"]}}
            )["environmentCreate"],
        )
        return outcome.value["id"], {"adopted": outcome.origin == ADOPTED, "origin": outcome.origin}

    def _update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        self.client.execute(gql.ENVIRONMENT_RENAME, {"id": id_, "input": {"name": news["name"]}})
        return {}

    def _delete(self, id_: str, props: Mapping[str, Any]) -> None:
        if props.get("adopted"):
            return  # a state from before ``origin``: the project's default environment goes with the project
        self.client.execute(gql.ENVIRONMENT_DELETE, {"id": id_})

    def _read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        env = self.client.execute(gql.ENVIRONMENT, {"id": id_})["environment"]
        if env.get("deletedAt"):
            return None
        return {"name": env["name"], "project_id": env["projectId"]}


class Environment(RailwayResource, provider=EnvironmentProvider, adopt_key="environment"):
    """The stack's environment in its project (named after the stack)."""

    project_id: pulumi.Input[str] = parent()
    name: pulumi.Input[str] = setting(required=True)
    adopted: pulumi.Output[bool] = output()
