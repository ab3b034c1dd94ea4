"""The fake GitHub's state: accounts, repositories with environments (reviewers, wait timer, branch
policies, secrets, variables, a libsodium key pair each), rulesets, a small git object store (blobs,
nested trees, commits — merges too — and branches, with real git SHA-1s) for the files the program commits,
issues / pull requests with their comments (the preview workflow's one comment per pull request), and
GitHub Actions workflow runs with their jobs (event, branch, head commit, attempts), which the staging gate
reads (workflows/scripts/staging_gate.py).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nacl.public import PrivateKey, PublicKey, SealedBox

_ids = itertools.count(9_000_001)


def next_id() -> int:
    """Ids as GitHub hands them out: unique integers, never reused (across every fake in the process)."""
    return next(_ids)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}{number}".encode()).decode().rstrip("=")


@dataclass
class Account:
    """A user or an organization (``kind``) or a team; teams belong to an organization (``org``)."""

    login: str  # a team's slug
    id: int
    kind: str  # "User" | "Organization" | "Team"
    org: str = ""
    name: str = ""


class KeyPair:
    """The libsodium key pair GitHub keeps per repository / environment to receive sealed secrets."""

    def __init__(self) -> None:
        self._private = PrivateKey.generate()
        public = bytes(self._private.public_key)
        self.key = base64.b64encode(public).decode()
        self.key_id = str(int.from_bytes(hashlib.sha256(public).digest()[:8], "big"))[:18]

    def seal(self, value: str) -> str:
        """A sealed box for this public key, base64: what a client sends as ``encrypted_value``."""
        box = SealedBox(PublicKey(base64.b64decode(self.key)))
        return base64.b64encode(box.encrypt(value.encode())).decode()

    def open(self, encrypted_value_b64: str) -> bytes:
        """Decrypt a sealed box made with this public key; raises ``nacl.exceptions.CryptoError`` otherwise."""
        return SealedBox(self._private).decrypt(base64.b64decode(encrypted_value_b64, validate=True))


@dataclass
class Secret:
    name: str
    key_id: str
    encrypted_value: str
    created_at: str
    updated_at: str


@dataclass
class Variable:
    name: str
    value: str
    created_at: str
    updated_at: str


@dataclass
class BranchPolicy:
    id: int
    name: str
    type: str  # "branch" | "tag"


@dataclass
class Environment:
    id: int
    name: str
    created_at: str
    updated_at: str
    wait_timer: int = 0
    prevent_self_review: bool = False
    can_admins_bypass: bool = True
    reviewers: list[tuple[str, int]] = field(default_factory=list)  # ("User" | "Team", id)
    #: (protected_branches, custom_branch_policies), or None: any branch may deploy
    branch_policy: tuple[bool, bool] | None = None
    policies: dict[int, BranchPolicy] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    keys: KeyPair = field(default_factory=KeyPair)
    rule_ids: dict[str, int] = field(default_factory=dict)  # protection rule type -> its id


@dataclass
class Ruleset:
    id: int
    name: str
    target: str
    enforcement: str
    conditions: dict[str, Any]
    rules: list[dict[str, Any]]
    bypass_actors: list[dict[str, Any]]
    created_at: str
    updated_at: str
    version: int = 1

    @property
    def etag(self) -> str:
        return f'W/"{hashlib.sha1(f"{self.id}:{self.version}".encode()).hexdigest()}"'  # noqa: S324 (an etag)


@dataclass
class Commit:
    sha: str
    tree: dict[str, str]  # path -> blob sha
    tree_sha: str
    parents: list[str]
    message: str
    author: dict[str, str]
    committer: dict[str, str]


def git_sha(kind: str, payload: bytes) -> str:
    """git's object id: SHA-1 over ``<kind> <size>\\0<payload>`` (what GitHub calls a blob's ``sha``)."""
    return hashlib.sha1(f"{kind} {len(payload)}\0".encode() + payload).hexdigest()  # noqa: S324 (git's hash)


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree object: ``mode`` ``100644`` (a file) or ``040000`` (a folder)."""

    mode: str
    kind: str  # "blob" | "tree"
    name: str
    sha: str


def build_trees(files: dict[str, str], store: dict[str, list[TreeEntry]]) -> str:
    """The git tree objects of ``files`` (path -> blob sha), folder by folder, into ``store``; the root's sha.

    Real git ids: a tree is ``<mode> <name>\\0<20-byte id>`` per entry, in git's order (a folder sorts as
    ``name/``), so two commits whose folder holds the same files have the same folder sha, as on GitHub.
    """
    folders: dict[str, dict[str, str]] = {}
    for path, blob in files.items():
        head, _, name = path.rpartition("/")
        folders.setdefault(head, {})[name] = blob
        while head:  # every ancestor folder exists, even with no file of its own
            parent = head.rpartition("/")[0]
            folders.setdefault(parent, {})
            head = parent
    folders.setdefault("", {})

    def tree(folder: str) -> str:
        entries = [TreeEntry("100644", "blob", name, sha) for name, sha in folders[folder].items()]
        prefix = f"{folder}/" if folder else ""
        for sub in folders:
            if sub and sub.rpartition("/")[0] == folder:
                entries.append(TreeEntry("40000", "tree", sub[len(prefix) :], tree(sub)))
        entries.sort(key=lambda e: e.name + ("/" if e.kind == "tree" else ""))
        raw = b"".join(f"{e.mode} {e.name}\0".encode() + bytes.fromhex(e.sha) for e in entries)
        sha = git_sha("tree", raw)
        store[sha] = entries
        return sha

    return tree("")


class Git:
    """Blobs, nested trees and commits of one repository, and its branches (name -> commit sha)."""

    def __init__(self, branches: list[str]) -> None:
        self.blobs: dict[str, bytes] = {}
        self.trees: dict[str, list[TreeEntry]] = {}
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        person = {"name": "maya-dev", "email": "dev@mayassistant.com", "date": now()}
        root = self.commit(None, {"README.md": b"# maya\n"}, "initial commit", person, person)
        for branch in branches:
            self.branches[branch] = root

    def ensure_branch(self, branch: str, start: str) -> None:
        """Create ``branch`` at ``start``'s head unless it exists (what pushing a new branch does)."""
        self.branches.setdefault(branch, self.branches[start])

    def tree_at(self, branch: str) -> dict[str, str]:
        return dict(self.commits[self.branches[branch]].tree)

    def file(self, branch: str, path: str) -> tuple[str, bytes] | None:
        sha = self.commits[self.branches[branch]].tree.get(path)
        return None if sha is None else (sha, self.blobs[sha])

    def commit(
        self,
        parent: str | None,
        tree: dict[str, bytes | None],
        message: str,
        author: dict[str, str],
        committer: dict[str, str],
        *,
        also: str | None = None,
    ) -> str:
        """A new commit on top of ``parent`` with ``tree``'s changes (None deletes a path); returns its sha.
        ``also``: a second parent (a merge commit)."""
        files = dict(self.commits[parent].tree) if parent else {}
        for path, content in tree.items():
            if content is None:
                files.pop(path, None)
            else:
                sha = git_sha("blob", content)
                self.blobs[sha] = content
                files[path] = sha
        tree_sha = build_trees(files, self.trees)
        parents = [p for p in (parent, also) if p]
        text = f"tree {tree_sha}\nparent {' '.join(parents)}\n{author}\n{committer}\n\n{message}\n{time.time_ns()}"
        sha = git_sha("commit", text.encode())
        self.commits[sha] = Commit(sha, files, tree_sha, parents, message, author, committer)
        return sha

    def merge(self, into: str, source: str, who: dict[str, str]) -> str:
        """Merge branch ``source`` into branch ``into`` with a merge commit (no fast-forward) that takes
        ``source``'s files: a new sha with ``source``'s tree, as a develop → main merge makes. Returns it."""
        theirs = self.commits[self.branches[source]].tree
        ours = self.commits[self.branches[into]].tree
        changes: dict[str, bytes | None] = {p: None for p in ours if p not in theirs}
        changes.update({p: self.blobs[b] for p, b in theirs.items() if ours.get(p) != b})
        sha = self.commit(
            self.branches[into],
            changes,
            f"Merge branch '{source}' into {into}",
            who,
            who,
            also=self.branches[source],
        )
        self.branches[into] = sha
        return sha

    def commit_on(self, branch: str, changes: dict[str, bytes | None], message: str, who: dict[str, str]) -> str:
        """Commit to ``branch`` and move it (what a contents write does); returns the new commit's sha."""
        sha = self.commit(self.branches[branch], changes, message, who, who)
        self.branches[branch] = sha
        return sha

    def history(self, branch: str, path: str | None = None) -> list[Commit]:
        """Commits reachable from ``branch``, newest first; with ``path``, those that changed it."""
        out, sha = [], self.branches.get(branch)
        while sha:
            commit = self.commits[sha]
            parent = self.commits[commit.parents[0]] if commit.parents else None
            if path is None or commit.tree.get(path) != (parent.tree.get(path) if parent else None):
                out.append(commit)
            sha = commit.parents[0] if commit.parents else None
        return out


@dataclass
class Issue:
    """An issue or a pull request (GitHub numbers both from one sequence per repository, and a pull
    request's conversation comments are issue comments)."""

    number: int
    title: str
    pull_request: bool
    created_at: str


@dataclass
class IssueComment:
    """One comment on an issue or pull request. Ids are unique across repositories (``next_id``); the
    author is the login the token belongs to."""

    id: int
    issue_number: int
    body: str
    user: str
    created_at: str
    updated_at: str


@dataclass
class WorkflowJob:
    """One job of one attempt of a workflow run: ``name`` is the job's display name, as the API reports it."""

    id: int
    name: str
    run_attempt: int
    status: str  # queued | in_progress | completed | ...
    conclusion: str | None  # success | failure | skipped | cancelled | ... (None until completed)
    started_at: str
    completed_at: str | None


@dataclass
class WorkflowRun:
    """A run of one workflow file (``path``) for one event on one branch, at ``head_sha``; ``jobs`` holds
    every attempt's jobs (a re-run adds an attempt, and the run shows the latest one)."""

    id: int
    name: str
    path: str  # .github/workflows/<file>
    workflow_id: int
    event: str  # push | pull_request | workflow_dispatch | schedule
    head_branch: str
    head_sha: str
    run_number: int
    created_at: str
    run_attempt: int = 1
    status: str = "completed"
    conclusion: str | None = "success"
    updated_at: str = ""
    jobs: list[WorkflowJob] = field(default_factory=list)


@dataclass
class Repository:
    id: int
    owner: str
    name: str
    default_branch: str
    git: Git
    created_at: str
    environments: dict[str, Environment] = field(default_factory=dict)
    rulesets: dict[int, Ruleset] = field(default_factory=dict)
    keys: KeyPair = field(default_factory=KeyPair)
    issues: dict[int, Issue] = field(default_factory=dict)  # number -> issue or pull request
    comments: dict[int, IssueComment] = field(default_factory=dict)  # id -> comment, in creation order
    runs: dict[int, WorkflowRun] = field(default_factory=dict)  # id -> workflow run, in creation order
    workflow_ids: dict[str, int] = field(default_factory=dict)  # workflow file path -> its id

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"
