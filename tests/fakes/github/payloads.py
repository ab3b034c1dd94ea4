"""The JSON objects the fake answers with, shaped by GitHub's description (every ``required`` property;
the validator checks each response against it, so a missing field here fails loudly, not in the provider).
"""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.github.model import (
    Account,
    BranchPolicy,
    Commit,
    Environment,
    Issue,
    IssueComment,
    Repository,
    Ruleset,
    Secret,
    Variable,
    node_id,
)

_EPOCH = "2024-01-01T00:00:00Z"
_REPO_URLS = (
    "archive",
    "assignees",
    "blobs",
    "branches",
    "collaborators",
    "comments",
    "commits",
    "compare",
    "contents",
    "contributors",
    "deployments",
    "downloads",
    "events",
    "forks",
    "git_commits",
    "git_refs",
    "git_tags",
    "hooks",
    "issue_comment",
    "issue_events",
    "issues",
    "keys",
    "labels",
    "languages",
    "merges",
    "milestones",
    "notifications",
    "pulls",
    "releases",
    "stargazers",
    "statuses",
    "subscribers",
    "subscription",
    "tags",
    "teams",
    "trees",
)
_USER_URLS = (
    "events",
    "followers",
    "following",
    "gists",
    "organizations",
    "received_events",
    "repos",
    "starred",
    "subscriptions",
)


class Payloads:
    """Builds payloads with URLs under the fake's own base (``http://127.0.0.1:PORT``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.api = f"{base}/api/v3"

    # ------------------------------------------------------------------------------------------- accounts

    def simple_user(self, a: Account) -> dict[str, Any]:
        url = f"{self.api}/users/{a.login}"
        user: dict[str, Any] = {
            "login": a.login,
            "id": a.id,
            "node_id": node_id("U_", a.id),
            "avatar_url": f"{self.base}/avatars/{a.id}",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{self.base}/{a.login}",
            "type": a.kind,
            "site_admin": False,
        }
        user.update({f"{k}_url": f"{url}/{k}" for k in _USER_URLS})
        return user

    def full_user(self, a: Account) -> dict[str, Any]:
        """public-user (also ``GET /user``: private-user's extra fields are optional there via oneOf)."""
        return {
            **self.simple_user(a),
            "name": a.name or a.login,
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "hireable": None,
            "bio": None,
            "public_repos": 1,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": _EPOCH,
            "updated_at": _EPOCH,
            "user_view_type": "public",
        }

    def organization(self, a: Account, public_repos: int) -> dict[str, Any]:
        url = f"{self.api}/orgs/{a.login}"
        return {
            "login": a.login,
            "id": a.id,
            "node_id": node_id("O_", a.id),
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": f"{self.base}/avatars/{a.id}",
            "description": None,
            "name": a.name or a.login,
            "html_url": f"{self.base}/{a.login}",
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": public_repos,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "type": "Organization",
            "created_at": _EPOCH,
            "updated_at": _EPOCH,
            "archived_at": None,
        }

    def team(self, a: Account) -> dict[str, Any]:
        url = f"{self.api}/orgs/{a.org}/teams/{a.login}"
        return {
            "id": a.id,
            "node_id": node_id("T_", a.id),
            "url": url,
            "members_url": f"{url}/members{{/member}}",
            "name": a.name or a.login,
            "slug": a.login,
            "description": None,
            "privacy": "closed",
            "permission": "pull",
            "html_url": f"{self.base}/orgs/{a.org}/teams/{a.login}",
            "repositories_url": f"{url}/repos",
            "parent": None,
            "type": "team",
        }

    # ----------------------------------------------------------------------------------------- repository

    def repository(self, repo: Repository, owner: Account) -> dict[str, Any]:
        """full-repository."""
        url = f"{self.api}/repos/{repo.full_name}"
        out: dict[str, Any] = {f"{k}_url": f"{url}/{k}" for k in _REPO_URLS}
        out.update(
            {
                "id": repo.id,
                "node_id": node_id("R_", repo.id),
                "name": repo.name,
                "full_name": repo.full_name,
                "owner": self.simple_user(owner),
                "private": True,
                "visibility": "private",
                "description": None,
                "fork": False,
                "url": url,
                "html_url": f"{self.base}/{repo.full_name}",
                "clone_url": f"{self.base}/{repo.full_name}.git",
                "git_url": f"git://fake/{repo.full_name}.git",
                "ssh_url": f"git@fake:{repo.full_name}.git",
                "svn_url": f"{self.base}/{repo.full_name}",
                "mirror_url": None,
                "homepage": None,
                "language": "Python",
                "default_branch": repo.default_branch,
                "forks": 0,
                "forks_count": 0,
                "open_issues": 0,
                "open_issues_count": 0,
                "stargazers_count": 0,
                "watchers": 0,
                "watchers_count": 0,
                "subscribers_count": 1,
                "network_count": 0,
                "size": 1,
                "has_issues": True,
                "has_projects": False,
                "has_wiki": False,
                "has_pages": False,
                "has_discussions": False,
                "has_downloads": True,
                "archived": False,
                "disabled": False,
                "license": None,
                "pushed_at": repo.created_at,
                "created_at": repo.created_at,
                "updated_at": repo.created_at,
            }
        )
        return out

    # ---------------------------------------------------------------------------------------- environment

    def environment(self, repo: Repository, env: Environment, reviewers: list[dict[str, Any]]) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        if env.wait_timer:
            rid = env.rule_ids["wait_timer"]
            rules.append(
                {"id": rid, "node_id": node_id("GA_", rid), "type": "wait_timer", "wait_timer": env.wait_timer}
            )
        if env.reviewers:
            rid = env.rule_ids["required_reviewers"]
            rules.append(
                {
                    "id": rid,
                    "node_id": node_id("GA_", rid),
                    "type": "required_reviewers",
                    "prevent_self_review": env.prevent_self_review,
                    "reviewers": reviewers,
                }
            )
        if env.branch_policy is not None:
            rid = env.rule_ids["branch_policy"]
            rules.append({"id": rid, "node_id": node_id("GA_", rid), "type": "branch_policy"})
        out: dict[str, Any] = {
            "id": env.id,
            "node_id": node_id("EN_", env.id),
            "name": env.name,
            "url": f"{self.api}/repos/{repo.full_name}/environments/{env.name}",
            "html_url": f"{self.base}/{repo.full_name}/deployments/activity_log?environments_filter={env.name}",
            "created_at": env.created_at,
            "updated_at": env.updated_at,
            "protection_rules": rules,
            "deployment_branch_policy": None
            if env.branch_policy is None
            else {"protected_branches": env.branch_policy[0], "custom_branch_policies": env.branch_policy[1]},
            # served by GitHub, not in its description (see openapi.KNOWN_DEVIATIONS)
            "can_admins_bypass": env.can_admins_bypass,
        }
        return out

    @staticmethod
    def branch_policy(p: BranchPolicy) -> dict[str, Any]:
        return {"id": p.id, "node_id": node_id("DBP_", p.id), "name": p.name, "type": p.type}

    @staticmethod
    def secret(s: Secret) -> dict[str, Any]:
        return {"name": s.name, "created_at": s.created_at, "updated_at": s.updated_at}

    @staticmethod
    def variable(v: Variable) -> dict[str, Any]:
        return {"name": v.name, "value": v.value, "created_at": v.created_at, "updated_at": v.updated_at}

    # -------------------------------------------------------------------------------------------- rulesets

    def ruleset(self, repo: Repository, r: Ruleset) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/rulesets/{r.id}"
        return {
            "id": r.id,
            "name": r.name,
            "target": r.target,
            "source_type": "Repository",
            "source": repo.full_name,
            "enforcement": r.enforcement,
            "bypass_actors": r.bypass_actors,
            "current_user_can_bypass": "always" if r.bypass_actors else "never",
            "node_id": node_id("RRS_", r.id),
            "_links": {"self": {"href": url}, "html": {"href": f"{self.base}/{repo.full_name}/rules/{r.id}"}},
            "conditions": r.conditions,
            "rules": r.rules,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
        }

    # -------------------------------------------------------------------------------------------- contents

    def content_file(self, repo: Repository, path: str, sha: str, data: bytes, ref: str) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
        git = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        html = f"{self.base}/{repo.full_name}/blob/{ref}/{path}"
        encoded = base64.encodebytes(data).decode()  # GitHub wraps base64 at 60 characters, like this
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": encoded,
            "sha": sha,
            "url": url,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.base}/raw/{repo.full_name}/{ref}/{path}",
            "_links": {"self": url, "git": git, "html": html},
        }

    def commit(self, repo: Repository, c: Commit, author: Account | None) -> dict[str, Any]:
        """commit (``GET /repos/{owner}/{repo}/commits/{ref}`` and the commit list)."""
        url = f"{self.api}/repos/{repo.full_name}/commits/{c.sha}"
        return {
            "url": url,
            "sha": c.sha,
            "node_id": node_id("C_", int(c.sha[:12], 16)),
            "html_url": f"{self.base}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{self.api}/repos/{repo.full_name}/git/commits/{c.sha}",
                "author": dict(c.author),
                "committer": dict(c.committer),
                "message": c.message,
                "comment_count": 0,
                "tree": {"sha": c.tree_sha, "url": f"{self.api}/repos/{repo.full_name}/git/trees/{c.tree_sha}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "payload": None,
                    "signature": None,
                    "verified_at": None,
                },
            },
            "author": None if author is None else self.simple_user(author),
            "committer": None if author is None else self.simple_user(author),
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.api}/repos/{repo.full_name}/commits/{p}",
                    "html_url": f"{self.base}/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }

    def commit_with_files(
        self, repo: Repository, c: Commit, parent: Commit | None, author: Account | None
    ) -> dict[str, Any]:
        """``GET /repos/{owner}/{repo}/commits/{ref}``: the commit plus the files it changed (diff-entry)."""
        before = parent.tree if parent else {}
        files = []
        for path in sorted(set(before) | set(c.tree)):
            old, new = before.get(path), c.tree.get(path)
            if old == new:
                continue
            status = "added" if old is None else "removed" if new is None else "modified"
            files.append(
                {
                    "sha": new or old,
                    "filename": path,
                    "status": status,
                    "additions": 0,
                    "deletions": 0,
                    "changes": 0,
                    "blob_url": f"{self.base}/{repo.full_name}/blob/{c.sha}/{path}",
                    "raw_url": f"{self.base}/{repo.full_name}/raw/{c.sha}/{path}",
                    "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={c.sha}",
                }
            )
        return {**self.commit(repo, c, author), "files": files, "stats": {"additions": 0, "deletions": 0, "total": 0}}

    def file_commit(self, repo: Repository, path: str | None, blob: str | None, size: int, c: Commit) -> dict[str, Any]:
        """file-commit (a contents write; ``content`` is null after a delete)."""
        content = None
        if path is not None and blob is not None:
            url = f"{self.api}/repos/{repo.full_name}/contents/{path}"
            git = f"{self.api}/repos/{repo.full_name}/git/blobs/{blob}"
            html = f"{self.base}/{repo.full_name}/blob/{c.sha}/{path}"
            content = {
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": blob,
                "size": size,
                "url": url,
                "html_url": html,
                "git_url": git,
                "download_url": f"{self.base}/raw/{repo.full_name}/{c.sha}/{path}",
                "type": "file",
                "_links": {"self": url, "git": git, "html": html},
            }
        return {
            "content": content,
            "commit": {
                "sha": c.sha,
                "node_id": node_id("C_", int(c.sha[:12], 16)),
                "url": f"{self.api}/repos/{repo.full_name}/git/commits/{c.sha}",
                "html_url": f"{self.base}/{repo.full_name}/commit/{c.sha}",
                "author": dict(c.author),
                "committer": dict(c.committer),
                "message": c.message,
                "tree": {"sha": c.tree_sha, "url": f"{self.api}/repos/{repo.full_name}/git/trees/{c.tree_sha}"},
                "parents": [
                    {
                        "sha": p,
                        "url": f"{self.api}/repos/{repo.full_name}/git/commits/{p}",
                        "html_url": f"{self.base}/{repo.full_name}/commit/{p}",
                    }
                    for p in c.parents
                ],
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
        }

    def branch(self, repo: Repository, name: str, commit: dict[str, Any], protected: bool) -> dict[str, Any]:
        url = f"{self.api}/repos/{repo.full_name}/branches/{name}"
        return {
            "name": name,
            "commit": commit,
            "_links": {"self": url, "html": f"{self.base}/{repo.full_name}/tree/{name}"},
            "protected": protected,
            "protection": {"enabled": protected, "url": f"{url}/protection"},
            "protection_url": f"{url}/protection",
        }

    def ref(self, repo: Repository, ref: str, sha: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": node_id("REF_", int(sha[:12], 16)),
            "url": f"{self.api}/repos/{repo.full_name}/git/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{self.api}/repos/{repo.full_name}/git/commits/{sha}"},
        }

    def git_commit(self, repo: Repository, c: Commit) -> dict[str, Any]:
        """git-commit (``GET /repos/{owner}/{repo}/git/commits/{sha}``)."""
        url = f"{self.api}/repos/{repo.full_name}/git/commits/{c.sha}"
        return {
            "sha": c.sha,
            "node_id": node_id("C_", int(c.sha[:12], 16)),
            "url": url,
            "html_url": f"{self.base}/{repo.full_name}/commit/{c.sha}",
            "author": dict(c.author),
            "committer": dict(c.committer),
            "message": c.message,
            "tree": {"sha": c.tree_sha, "url": f"{self.api}/repos/{repo.full_name}/git/trees/{c.tree_sha}"},
            "parents": [
                {
                    "sha": p,
                    "url": f"{self.api}/repos/{repo.full_name}/git/commits/{p}",
                    "html_url": f"{self.base}/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def git_tree(
        self, repo: Repository, sha: str, entries: list[tuple[str, Any]], blobs: dict[str, bytes]
    ) -> dict[str, Any]:
        """git-tree: (path, TreeEntry) pairs; a blob's entry carries its size."""
        base = f"{self.api}/repos/{repo.full_name}/git"
        tree = []
        for path, entry in entries:
            item: dict[str, Any] = {"path": path, "mode": entry.mode, "type": entry.kind, "sha": entry.sha}
            if entry.kind == "blob":
                item["size"] = len(blobs[entry.sha])
            item["url"] = f"{base}/{'blobs' if entry.kind == 'blob' else 'trees'}/{entry.sha}"
            tree.append(item)
        return {"sha": sha, "url": f"{base}/trees/{sha}", "truncated": False, "tree": tree}

    # ------------------------------------------------------------------------------------------- comments

    def issue_comment(
        self, repo: Repository, issue: Issue, c: IssueComment, author: Account, association: str
    ) -> dict[str, Any]:
        """issue-comment. ``issue_url`` is the issue's even for a pull request (as GitHub answers);
        ``html_url`` points at the conversation, ``/pull/N`` or ``/issues/N``."""
        url = f"{self.api}/repos/{repo.full_name}/issues/comments/{c.id}"
        kind = "pull" if issue.pull_request else "issues"
        return {
            "id": c.id,
            "node_id": node_id("IC_", c.id),
            "url": url,
            "html_url": f"{self.base}/{repo.full_name}/{kind}/{issue.number}#issuecomment-{c.id}",
            "issue_url": f"{self.api}/repos/{repo.full_name}/issues/{issue.number}",
            "body": c.body,
            "user": self.simple_user(author),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "author_association": association,
            "performed_via_github_app": None,
            "reactions": {
                "url": f"{url}/reactions",
                "total_count": 0,
                **dict.fromkeys(("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket"), 0),
            },
        }

    @staticmethod
    def public_key(key_id: str, key: str) -> dict[str, Any]:
        return {"key_id": key_id, "key": key}

    @staticmethod
    def error(message: str, status: int | None = None, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """basic-error; with ``errors``, validation-error (GitHub's 422 "Validation Failed" shape)."""
        out: dict[str, Any] = {"message": message, "documentation_url": "https://docs.github.com/rest"}
        if errors is not None:
            out["errors"] = errors
        if status is not None:
            out["status"] = str(status)
        return out
