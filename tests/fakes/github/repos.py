"""The owner, the repository, branches, refs, commits and file contents (git blobs with real SHA-1s)."""

from __future__ import annotations

import base64
from typing import Any

from tests.fakes.github.common import Context, HttpError
from tests.fakes.github.model import Account, Repository, now
from tests.fakes.github.rulesets import _ruleset_covers


class ReposMixin:
    """The owner, the repository, branches, refs, commits and file contents (git blobs with real SHA-1s)."""

    # accounts and repositories ------------------------------------------------------------------------

    def _account(self, login: str) -> Account:
        account = self.accounts.get(login.lower())
        if account is None:
            raise HttpError(404, "Not Found")
        return account

    def _repo(self, owner: str, name: str) -> Repository:
        repo = self.repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise HttpError(404, "Not Found")
        return repo

    def _get_authenticated(self, c: Context) -> tuple[int, Any]:
        if self.installation:  # an App installation token is no user
            raise HttpError(403, "Resource not accessible by integration")
        return 200, self._payloads.full_user(self._account(self.login))

    def _installation_repositories(self, c: Context) -> tuple[int, Any]:
        if not self.installation:
            raise HttpError(403, "You must authenticate with an installation access token")
        repos = [self._payloads.repository(r, self._account(r.owner)) for r in self.repos.values()]
        return 200, {"total_count": len(repos), "repositories": repos}

    def _get_user(self, c: Context) -> tuple[int, Any]:
        return 200, self._payloads.full_user(self._account(c.params["username"]))

    def _get_org(self, c: Context) -> tuple[int, Any]:
        account = self._account(c.params["org"])
        if account.kind != "Organization":
            raise HttpError(404, "Not Found")
        count = sum(1 for r in self.repos.values() if r.owner.lower() == account.login.lower())
        return 200, self._payloads.organization(account, count)

    def _get_repo(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        payload = self._payloads.repository(repo, self._account(repo.owner))
        if not self.installation:  # the user's role on the repository, as GitHub shows it to a user token
            admin = bool(self.admin)
            payload["permissions"] = {"admin": admin, "maintain": admin, "push": True, "triage": True, "pull": True}
        return 200, payload

    def _commit_payload(self, repo: Repository, sha: str) -> dict[str, Any]:
        # GitHub links a commit to the account of its email; the fake links every commit to the token's user
        return self._payloads.commit(repo, repo.git.commits[sha], self._account(self.login))

    def _get_branch(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        name = c.params["branch"]
        if name not in repo.git.branches:
            raise HttpError(404, "Branch not found")
        protected = any(_ruleset_covers(r, name) for r in repo.rulesets.values())
        commit = self._commit_payload(repo, repo.git.branches[name])
        return 200, self._payloads.branch(repo, name, commit, protected)

    def _get_ref(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.params["ref"]
        branch = ref.removeprefix("heads/")
        if not ref.startswith("heads/") or branch not in repo.git.branches:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.ref(repo, f"refs/{ref}", repo.git.branches[branch])

    # contents and commits -----------------------------------------------------------------------------

    def _branch_of(self, repo: Repository, given: str | None) -> str:
        branch = given or repo.default_branch
        if branch not in repo.git.branches:
            raise HttpError(404, f"Branch {branch} not found")
        return branch

    def _get_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.query.get("ref") or repo.default_branch
        if ref in repo.git.branches:
            tree = repo.git.commits[repo.git.branches[ref]].tree
        elif ref in repo.git.commits:
            tree = repo.git.commits[ref].tree
        else:
            raise HttpError(404, f"No commit found for the ref {ref}")
        path = c.params["path"].strip("/")
        sha = tree.get(path)
        if sha is None:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.content_file(repo, path, sha, repo.git.blobs[sha], ref)

    def _who(self, body: dict[str, Any]) -> dict[str, str]:
        person = body.get("committer") or body.get("author") or {"name": self.login, "email": f"{self.login}@fake"}
        return {"name": person["name"], "email": person["email"], "date": now()}

    def _put_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        branch = self._branch_of(repo, body.get("branch"))
        path = c.params["path"].strip("/")
        current = repo.git.file(branch, path)
        given = body.get("sha")
        if current is not None and given is None:
            raise HttpError(422, f'Invalid request. "sha" wasn\'t supplied (a file exists at {path})')
        if current is not None and given != current[0]:
            raise HttpError(409, f"{path} does not match {given}")  # the branch moved: a stale blob sha
        if current is None and given is not None:
            raise HttpError(409, f"{path} does not match {given} (no such file on {branch})")
        try:
            content = base64.b64decode(body["content"], validate=True)
        except ValueError:
            raise HttpError(422, "content is not valid Base64") from None
        sha = repo.git.commit_on(branch, {path: content}, body["message"], self._who(body))
        blob = repo.git.commits[sha].tree[path]
        answer = self._payloads.file_commit(repo, path, blob, len(content), repo.git.commits[sha])
        return (200 if current else 201), answer

    def _delete_content(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        body = c.body
        branch = self._branch_of(repo, body.get("branch"))
        path = c.params["path"].strip("/")
        current = repo.git.file(branch, path)
        if current is None:
            raise HttpError(404, "Not Found")
        if body["sha"] != current[0]:
            raise HttpError(409, f"{path} does not match {body['sha']}")
        sha = repo.git.commit_on(branch, {path: None}, body["message"], self._who(body))
        return 200, self._payloads.file_commit(repo, None, None, 0, repo.git.commits[sha])

    def _get_commit(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        ref = c.params["ref"]
        sha = repo.git.branches.get(ref, ref)
        if sha not in repo.git.commits:
            raise HttpError(422, f"No commit found for SHA: {ref}")
        commit = repo.git.commits[sha]
        parent = repo.git.commits[commit.parents[0]] if commit.parents else None
        return 200, self._payloads.commit_with_files(repo, commit, parent, self._account(self.login))

    def _list_commits(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        branch = c.query.get("sha") or repo.default_branch
        if branch not in repo.git.branches:
            raise HttpError(404, "Not Found")
        per_page = int(c.query.get("per_page") or 30)
        page = int(c.query.get("page") or 1)
        commits = repo.git.history(branch, c.query.get("path"))[(page - 1) * per_page : page * per_page]
        return 200, [self._commit_payload(repo, x.sha) for x in commits]

    # git objects: commits and trees (what the staging gate compares) -----------------------------------

    def _get_git_commit(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        commit = repo.git.commits.get(c.params["commit_sha"])
        if commit is None:
            raise HttpError(404, "Not Found")
        return 200, self._payloads.git_commit(repo, commit)

    def _get_git_tree(self, c: Context) -> tuple[int, Any]:
        """One tree object; ``recursive`` lists every entry below it with its path (GitHub's form)."""
        repo = self._repo(c.params["owner"], c.params["repo"])
        sha = c.params["tree_sha"]
        if sha not in repo.git.trees:
            raise HttpError(404, "Not Found")
        recursive = c.query.get("recursive") not in (None, "", "0", "false")
        entries: list[tuple[str, Any]] = []

        def walk(tree: str, prefix: str) -> None:
            for entry in repo.git.trees[tree]:
                entries.append((prefix + entry.name, entry))
                if recursive and entry.kind == "tree":
                    walk(entry.sha, f"{prefix}{entry.name}/")

        walk(sha, "")
        return 200, self._payloads.git_tree(repo, sha, entries, repo.git.blobs)
