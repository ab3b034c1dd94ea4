"""Repository rulesets, with ETags and 304s as GitHub answers them."""

from __future__ import annotations

from typing import Any

from tests.fakes.github.common import Context, HttpError, WithHeaders
from tests.fakes.github.model import Repository, Ruleset, next_id, now


class RulesetsMixin:
    """Repository rulesets, with ETags and 304s as GitHub answers them."""

    # rulesets -----------------------------------------------------------------------------------------

    def _ruleset(self, c: Context) -> tuple[Repository, Ruleset]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ruleset = repo.rulesets.get(int(c.params["ruleset_id"]))
        if ruleset is None:
            raise HttpError(404, "Not Found")
        return repo, ruleset

    def _ruleset_answer(self, status: int, repo: Repository, r: Ruleset) -> tuple[int, Any]:
        return status, WithHeaders({"ETag": r.etag}, self._payloads.ruleset(repo, r))

    def _list_rulesets(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        return 200, [self._payloads.ruleset(repo, r) for r in repo.rulesets.values()]

    def _create_ruleset(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        if any(r.name == body["name"] for r in repo.rulesets.values()):
            raise HttpError(422, f"Name must be unique: a ruleset named {body['name']!r} exists")
        stamp = now()
        ruleset = Ruleset(
            next_id(),
            body["name"],
            body.get("target", "branch"),
            body["enforcement"],
            body.get("conditions") or {},
            body.get("rules") or [],
            body.get("bypass_actors") or [],
            stamp,
            stamp,
        )
        repo.rulesets[ruleset.id] = ruleset
        return self._ruleset_answer(201, repo, ruleset)

    def _get_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        if c.headers.get("If-None-Match") == ruleset.etag:
            return 304, WithHeaders({"ETag": ruleset.etag}, None)
        return self._ruleset_answer(200, repo, ruleset)

    def _update_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        body = c.body or {}
        for key in ("name", "target", "enforcement", "conditions", "rules", "bypass_actors"):
            if key in body:
                setattr(ruleset, key, body[key] if body[key] is not None else ([] if key != "conditions" else {}))
        ruleset.version += 1
        ruleset.updated_at = now()
        return self._ruleset_answer(200, repo, ruleset)

    def _delete_ruleset(self, c: Context) -> tuple[int, Any]:
        repo, ruleset = self._ruleset(c)
        del repo.rulesets[ruleset.id]
        return 204, None


def _ruleset_covers(r: Ruleset, branch: str) -> bool:
    include = (r.conditions.get("ref_name") or {}).get("include") or []
    return f"refs/heads/{branch}" in include or "~ALL" in include
