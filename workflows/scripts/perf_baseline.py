"""Fetch the load test statistics of the last successful performance run on the staging branch.

maya-infra inlines this file into the performance job (workflows/performance.py). Standard library only.

The job uploads its Locust statistics as the artifact ``performance-baseline`` only as its last step, so only
when every budget held: the newest unexpired artifact of that name from a run on ``--branch`` is the last
successful run's. It is listed through GitHub's REST API with the job's token (``actions: read``), downloaded
(GitHub answers 302 to a short-lived storage URL, which is fetched WITHOUT the token: the token is for GitHub
only), and its ``*_stats.csv`` written to ``--out``. No such artifact is no error (the first run; an
expired artifact): the step says so and the regression rule waits for the next run. An API that cannot be
reached after the retries is an error: without the baseline the stage cannot judge.

Usage: python3 perf_baseline.py --repo OWNER/NAME --branch BRANCH --artifact NAME --out FILE [--exclude-run ID]
Environment: GITHUB_TOKEN, GITHUB_API_URL (default https://api.github.com), GITHUB_OUTPUT (file=, note=).
Exit status: 0 found or none to find; 1 GitHub could not be asked or the artifact is unusable.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or __package__:  # imported as workflows.scripts.perf_baseline (and always, to mypy)
    from workflows.scripts import script_http
else:  # run as a file from $RUNNER_TEMP, next to the siblings write_script wrote
    import script_http

#: The biggest artifact and the biggest stats file accepted (a stats CSV is a few kB).
MAX_ARCHIVE_BYTES = 5 * 1024 * 1024
MAX_MEMBER_BYTES = 1024 * 1024
DOWNLOAD_ATTEMPTS = 3
#: (url, headers, timeout) -> (status, headers, body), never following a redirect.
Fetch = Callable[[str, Mapping[str, str], float], tuple[int, Mapping[str, str], bytes]]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the caller follows it, without the Authorization header


def fetch(url: str, headers: Mapping[str, str], timeout: float) -> tuple[int, Mapping[str, str], bytes]:
    """One GET that does not follow redirects (urllib would resend the token to the storage host)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 - checked by script_http.check_url
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), dict(response.headers), response.read(MAX_ARCHIVE_BYTES + 1)
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers or {}), error.read() or b""


class GitHub:
    """The two calls this script makes, with script_http's bounded retries."""

    def __init__(self, api: str, token: str, http: script_http.Http, get: Fetch = fetch) -> None:
        self.api = script_http.check_url(api)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self.http = http
        self.get = get

    def newest_artifact(self, repo: str, name: str, branch: str, exclude_run: str) -> dict[str, Any] | None:
        query = urllib.parse.urlencode({"name": name, "per_page": 100})
        status, body = self.http.call("GET", f"{self.api}/repos/{repo}/actions/artifacts?{query}", self.headers)
        if status != 200 or not isinstance(body, dict):
            raise script_http.ScriptError(f"listing the artifacts of {repo}: HTTP {status}")
        candidates = [
            a
            for a in body.get("artifacts") or []
            if a.get("name") == name
            and not a.get("expired")
            and (a.get("workflow_run") or {}).get("head_branch") == branch
            and str((a.get("workflow_run") or {}).get("id")) != exclude_run
        ]
        return max(candidates, key=lambda a: (a.get("created_at") or "", a.get("id") or 0), default=None)

    def download(self, repo: str, artifact_id: int) -> bytes:
        """The artifact's zip: GitHub's 302, then the storage URL fetched without the token."""
        url = f"{self.api}/repos/{repo}/actions/artifacts/{artifact_id}/zip"
        last = ""
        for _ in range(DOWNLOAD_ATTEMPTS):
            try:
                status, headers, body = self.get(url, self.headers, self.http.timeout)
                if status in (301, 302, 303, 307, 308):
                    location = next((v for k, v in headers.items() if k.lower() == "location"), "")
                    status, _, body = self.get(script_http.check_url(location), {"User-Agent": "maya-infra"}, 60.0)
            except OSError as error:
                last = type(error).__name__
                continue
            if status == 200 and len(body) <= MAX_ARCHIVE_BYTES:
                return body
            last = f"HTTP {status}" if status != 200 else "the archive is too big"
            if status not in script_http.RETRY_HTTP:
                break
        raise script_http.ScriptError(f"downloading artifact {artifact_id} of {repo}: {last}")


def stats_member(archive: bytes) -> bytes:
    """The ``*_stats.csv`` inside the artifact's zip (bounded in size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            members = [i for i in bundle.infolist() if i.filename.endswith("_stats.csv") and "/" not in i.filename]
            if len(members) != 1:
                raise script_http.ScriptError(f"the artifact holds {len(members)} *_stats.csv files (expected 1)")
            if members[0].file_size > MAX_MEMBER_BYTES:
                raise script_http.ScriptError(f"{members[0].filename} is {members[0].file_size} bytes: not a stats CSV")
            return bundle.read(members[0])
    except zipfile.BadZipFile:
        raise script_http.ScriptError("the artifact is not a zip archive") from None


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    get: Fetch = fetch,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    parser = argparse.ArgumentParser(prog="perf_baseline", description=__doc__.split("\n\n")[0])
    for option in ("--repo", "--branch", "--artifact"):
        parser.add_argument(option, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exclude-run", default="")
    args = parser.parse_args(argv)
    environment = dict(os.environ) if env is None else env
    github = GitHub(
        environment.get("GITHUB_API_URL") or "https://api.github.com",
        environment.get("GITHUB_TOKEN", ""),
        script_http.Http(attempts=4, sleep=sleep),
        get,
    )
    try:
        artifact = github.newest_artifact(args.repo, args.artifact, args.branch, args.exclude_run)
        if artifact is None:
            note = f"none: no unexpired {args.artifact} artifact from a run on {args.branch} (the first run?)"
            print(f"::notice::baseline {note}; the regression rule is judged from the next run on")
            script_http.append(environment, "GITHUB_OUTPUT", f"file=\nnote={note}\n")
            return 0
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(stats_member(github.download(args.repo, int(artifact["id"]))))
    except script_http.ScriptError as error:
        print(f"::error::the baseline (last successful run on {args.branch}) could not be fetched: {error}")
        return 1
    run = artifact.get("workflow_run") or {}
    note = f"run {run.get('id')} of commit {str(run.get('head_sha'))[:12]} ({artifact.get('created_at')})"
    print(f"baseline: {note}")
    script_http.append(environment, "GITHUB_OUTPUT", f"file={args.out}\nnote={note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
