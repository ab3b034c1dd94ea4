"""Workflow-run artifacts: listed (newest first, by exact name), and downloaded the way GitHub does it.

GitHub answers a download with ``302`` to a short-lived URL of its blob storage, which serves the zip to
whoever holds the URL and refuses a request that also carries an ``Authorization`` header (Azure Blob
Storage: ``400``/``403`` "authentication information is not given in the correct format"). A client that
follows the redirect with the GitHub token still attached — what urllib does by default — fails here as it
fails against GitHub, and would have sent the token to another host. :class:`ArtifactStorage` is that
storage: a loopback server of its own, whose requests are recorded.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.github.common import Context, HttpError, WithHeaders
from tests.fakes.github.model import next_id, node_id


@dataclass
class Artifact:
    id: int
    name: str
    content: bytes
    run_id: int
    head_branch: str
    head_sha: str
    created_at: datetime
    expired: bool = False


@dataclass
class StorageRequest:
    path: str
    with_authorization: bool
    status: int


@dataclass
class ArtifactStorage:
    """The blob storage GitHub redirects artifact downloads to (its own server on 127.0.0.1)."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: list[StorageRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def put(self, content: bytes) -> str:
        """A new short-lived URL that serves ``content``."""
        token = secrets.token_urlsafe(16)
        self.blobs[token] = content
        return f"{self.url}/blob/{token}?sv=2024-01-01&sig=signed"

    @property
    def url(self) -> str:
        assert self._server is not None, "ArtifactStorage is used inside `with`"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ArtifactStorage:
        storage = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.path.split("?", 1)[0].removeprefix("/blob/")
                authorized = "Authorization" in self.headers
                body = storage.blobs.get(token)
                status = 403 if authorized else 404 if body is None else 200
                storage.requests.append(StorageRequest(self.path, authorized, status))
                payload = (
                    b"<Error><Code>InvalidAuthenticationInfo</Code></Error>" if authorized else (body or b"not found")
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


class ArtifactsMixin:
    """``actions/list-artifacts-for-repo`` and ``actions/download-artifact`` over :class:`ArtifactStorage`."""

    artifact_storage: ArtifactStorage | None = None

    def _artifacts(self) -> dict[str, list[Artifact]]:
        if not hasattr(self, "_artifact_store"):
            self._artifact_store: dict[str, list[Artifact]] = {}
        return self._artifact_store

    def add_artifact(
        self,
        full_name: str,
        name: str,
        content: bytes,
        *,
        branch: str,
        head_sha: str,
        run_id: int | None = None,
        age_days: float = 0,
        expired: bool = False,
    ) -> Artifact:
        """An artifact a workflow run on ``branch`` uploaded ``age_days`` ago."""
        self._repo(*full_name.split("/", 1))  # type: ignore[attr-defined]  # the repository must exist
        artifact = Artifact(
            next_id(),
            name,
            content,
            run_id or next_id(),
            branch,
            head_sha,
            datetime.now(UTC) - timedelta(days=age_days),
            expired,
        )
        self._artifacts().setdefault(full_name.lower(), []).append(artifact)
        return artifact

    def _artifact_payload(self, full_name: str, a: Artifact) -> dict[str, Any]:
        api = self._payloads.api  # type: ignore[attr-defined]
        stamp = a.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        expires = (a.created_at + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
        repo = self._repo(*full_name.split("/", 1))  # type: ignore[attr-defined]
        return {
            "id": a.id,
            "node_id": node_id("Artifact", a.id),
            "name": a.name,
            "size_in_bytes": len(a.content),
            "url": f"{api}/repos/{repo.full_name}/actions/artifacts/{a.id}",
            "archive_download_url": f"{api}/repos/{repo.full_name}/actions/artifacts/{a.id}/zip",
            "expired": a.expired,
            "created_at": stamp,
            "expires_at": expires,
            "updated_at": stamp,
            "digest": None,
            "workflow_run": {
                "id": a.run_id,
                "repository_id": repo.id,
                "head_repository_id": repo.id,
                "head_branch": a.head_branch,
                "head_sha": a.head_sha,
            },
        }

    def _list_artifacts(self, c: Context) -> tuple[int, Any]:
        """Newest first, as GitHub lists them; ``name`` is an exact match; ``per_page`` at most 100."""
        repo = self._repo(c.params["owner"], c.params["repo"])  # type: ignore[attr-defined]
        items = sorted(self._artifacts().get(repo.full_name.lower(), []), key=lambda a: a.created_at, reverse=True)
        if name := c.query.get("name"):
            items = [a for a in items if a.name == name]
        per_page = min(int(c.query.get("per_page") or 30), 100)
        page = max(int(c.query.get("page") or 1), 1)
        shown = items[(page - 1) * per_page : page * per_page]
        return 200, {"total_count": len(items), "artifacts": [self._artifact_payload(repo.full_name, a) for a in shown]}

    def _download_artifact(self, c: Context) -> tuple[int, Any]:
        repo = self._repo(c.params["owner"], c.params["repo"])  # type: ignore[attr-defined]
        wanted = int(c.params["artifact_id"])
        artifact = next((a for a in self._artifacts().get(repo.full_name.lower(), []) if a.id == wanted), None)
        if artifact is None or c.params["archive_format"] != "zip":
            raise HttpError(404, "Not Found")
        if artifact.expired:
            raise HttpError(410, "Artifact has expired")
        if self.artifact_storage is None:
            raise HttpError(500, "fake GitHub: no artifact_storage to redirect to")
        return 302, WithHeaders({"Location": self.artifact_storage.put(artifact.content)}, None)
