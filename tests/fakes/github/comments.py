"""Issue and pull-request comments, with GitHub's paging and Link header."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tests.fakes.github.common import Context, HttpError, WithHeaders
from tests.fakes.github.model import Issue, IssueComment, Repository, next_id, now


class CommentsMixin:
    """Issue and pull-request comments, with GitHub's paging and Link header."""

    # issue and pull-request comments ------------------------------------------------------------------

    def _issue(self, c: Context) -> tuple[Repository, Issue]:
        repo = self._repo(c.params["owner"], c.params["repo"])
        issue = repo.issues.get(int(c.params["issue_number"]))
        if issue is None:
            raise HttpError(404, "Not Found")
        return repo, issue

    def _comment(self, c: Context) -> tuple[Repository, IssueComment]:
        """The comment ``comment_id`` of this repository (another repository's id answers 404, as on GitHub)."""
        repo = self._repo(c.params["owner"], c.params["repo"])
        comment = repo.comments.get(int(c.params["comment_id"]))
        if comment is None:
            raise HttpError(404, "Not Found")
        return repo, comment

    def _comment_payload(self, repo: Repository, comment: IssueComment) -> dict[str, Any]:
        author = self._account(comment.user)
        # the token's user can write environments and rulesets: it owns the repository or collaborates on it
        association = "OWNER" if author.login.lower() == repo.owner.lower() else "COLLABORATOR"
        return self._payloads.issue_comment(repo, repo.issues[comment.issue_number], comment, author, association)

    def _list_comments(self, c: Context) -> tuple[int, Any]:
        """Oldest first; ``since`` keeps those updated at or after it; ``per_page`` (at most 100, as GitHub
        caps it) and ``page``; a Link header with first/prev/next/last when there is more than one page."""
        repo, issue = self._issue(c)
        items = [x for x in repo.comments.values() if x.issue_number == issue.number]
        if since := c.query.get("since"):
            cutoff = _instant(since)
            items = [x for x in items if _instant(x.updated_at) >= cutoff]
        per_page = min(int(c.query.get("per_page") or 30), 100)
        per_page = per_page if per_page > 0 else 30
        page = max(int(c.query.get("page") or 1), 1)
        answer = [self._comment_payload(repo, x) for x in items[(page - 1) * per_page : page * per_page]]
        last = max(1, -(-len(items) // per_page))
        base = f"{self._payloads.api}/repos/{repo.full_name}/issues/{issue.number}/comments"
        link = _link_header(base, {k: v for k, v in c.query.items() if k != "page"}, page, last)
        return 200, WithHeaders({"Link": link} if link else {}, answer)

    def _check_comment_body(self, body: str) -> None:
        """GitHub refuses a blank body and one over 65536 characters (422 Validation Failed)."""
        problem = ""
        if not body.strip():
            problem = "Body cannot be blank"
        elif len(body) > MAX_COMMENT_CHARS:
            problem = f"Body is too long (maximum is {MAX_COMMENT_CHARS} characters)"
        if problem:
            error = {"resource": "IssueComment", "code": "custom", "field": "body", "message": problem}
            raise HttpError(422, "Validation Failed", [error])

    def _create_comment(self, c: Context) -> tuple[int, Any]:
        repo, issue = self._issue(c)
        self._check_comment_body(c.body["body"])
        stamp = now()
        comment = IssueComment(next_id(), issue.number, c.body["body"], self.login, stamp, stamp)
        repo.comments[comment.id] = comment
        payload = self._comment_payload(repo, comment)
        return 201, WithHeaders({"Location": payload["url"]}, payload)

    def _get_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        return 200, self._comment_payload(repo, comment)

    def _update_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        self._check_comment_body(c.body["body"])
        comment.body = c.body["body"]
        comment.updated_at = now()
        return 200, self._comment_payload(repo, comment)

    def _delete_comment(self, c: Context) -> tuple[int, Any]:
        repo, comment = self._comment(c)
        del repo.comments[comment.id]
        return 204, None


#: GitHub's limit on an issue comment's body
MAX_COMMENT_CHARS = 65536


def _instant(stamp: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset) as an aware datetime, for ``since`` comparisons."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(422, f"since: {stamp!r} is not an ISO 8601 timestamp") from None
    if when.tzinfo is None:
        raise HttpError(422, f"since: {stamp!r} has no time zone (YYYY-MM-DDTHH:MM:SSZ)")
    return when


def _link_header(base: str, query: dict[str, str], page: int, last: int) -> str:
    """GitHub's pagination Link header (RFC 8288): first/prev before ``page``, next/last after it; "" when
    everything fits on one page."""
    if last <= 1:
        return ""

    def at(n: int, rel: str) -> str:
        return f'<{base}?{urlencode({**query, "page": n})}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [at(min(page - 1, last), "prev"), at(1, "first")]
    if page < last:
        links += [at(page + 1, "next"), at(last, "last")]
    return ", ".join(links)
