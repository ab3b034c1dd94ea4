"""workflows/scripts/preview_deployment.py against the fake Vercel: which preview the E2E job tests, how long it
waits for Vercel's build, and the one line it prints when there is nothing to test or something is wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.vercel_api import FakeVercel
from workflows.scripts import preview_deployment as pd

TOKEN = "vercel-preview-token-51c0"
SHA = "a" * 40
BRANCH = "feat/login"


@pytest.fixture
def vercel() -> Iterator[FakeVercel]:
    with FakeVercel(token=TOKEN) as fake:
        yield fake


def _env(fake: FakeVercel, project: str, **extra: str) -> dict[str, str]:
    return {
        "VERCEL_TOKEN": TOKEN,
        "VERCEL_PROJECT_ID": project,
        "VERCEL_API_URL": fake.url,
        "VERCEL_AUTOMATION_BYPASS_SECRET": "bypass-secret-0123456789abcdef01",
        "PREVIEW_JOB": "success",
        "HEAD_REPOSITORY": "mayassistant/maya",
        "GITHUB_REPOSITORY": "mayassistant/maya",
        **extra,
    }


def _wired(fake: FakeVercel) -> str:
    """A staging project whose branch the preview job pointed at its backend (NEXT_PUBLIC_API_URL set)."""
    project = fake.add_project("maya-frontend-staging")
    answer = httpx.post(
        f"{fake.url}/v10/projects/{project}/env?upsert=true",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={
            "key": pd.API_URL_VARIABLE,
            "value": "https://pr-1.up.railway.app",
            "target": ["preview"],
            "gitBranch": BRANCH,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return project


def _client(
    fake: FakeVercel,
    project: str,
    sleeps: list[float] | None = None,
    on_sleep: Callable[[], None] | None = None,
) -> pd.Vercel:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        if on_sleep is not None:
            on_sleep()

    return pd.Vercel(_env(fake, project), pd._urlopen, sleep)


def test_the_newest_build_of_the_commit_is_waited_for_until_ready(vercel: FakeVercel) -> None:
    project = _wired(vercel)
    git_build = vercel.add_deployment(project, target="preview", sha=SHA, state="READY", promote=False)
    rebuilt = vercel.add_deployment(project, target="preview", sha=SHA, state="BUILDING", promote=False)
    vercel.add_deployment(project, target="preview", sha="b" * 40, state="READY", promote=False)  # a newer commit
    polls: list[float] = []

    def finish_after_two_polls() -> None:
        if len(polls) == 2:
            vercel.deployments[rebuilt]["state"] = "READY"

    url = pd.find(_client(vercel, project, polls, finish_after_two_polls), SHA, BRANCH, timeout=60, poll=7)
    assert url == f"https://{vercel.deployments[rebuilt]['url']}"  # not the older Git build that baked staging's URL
    assert url != f"https://{vercel.deployments[git_build]['url']}"
    assert polls == [7, 7]


@pytest.mark.parametrize("state", ["ERROR", "CANCELED"])
def test_a_failed_build_fails_the_job_naming_its_state(vercel: FakeVercel, state: str) -> None:
    project = _wired(vercel)
    vercel.add_deployment(project, target="preview", sha=SHA, state=state, promote=False)
    with pytest.raises(pd.Failed, match=f"build of {SHA[:12]} ended {state}"):
        pd.find(_client(vercel, project), SHA, BRANCH, timeout=60, poll=0)


def test_waiting_is_bounded(vercel: FakeVercel) -> None:
    project = _wired(vercel)
    now = [0.0]
    sleeps: list[float] = []

    def tick() -> None:
        now[0] += 10

    with pytest.raises(pd.Failed, match=r"no READY Vercel preview of a{12} after 30 s \(last state: not created yet\)"):
        pd.find(_client(vercel, project, sleeps, tick), SHA, BRANCH, timeout=30, poll=10, clock=lambda: now[0])
    assert len(sleeps) == 3


def test_no_branch_variable_means_no_preview_backend_to_test(vercel: FakeVercel) -> None:
    project = vercel.add_project("maya-frontend-staging")  # the cap was reached: the branch was never wired
    vercel.add_deployment(project, target="preview", sha=SHA, state="READY", promote=False)
    with pytest.raises(pd.Failed, match="has no preview backend"):
        pd.find(_client(vercel, project), SHA, BRANCH, timeout=60, poll=0)


def test_throttling_is_retried_and_a_refused_token_is_one_clear_error(vercel: FakeVercel) -> None:
    project = _wired(vercel)
    vercel.add_deployment(project, target="preview", sha=SHA, state="READY", promote=False)
    vercel.inject(429, times=2)
    sleeps: list[float] = []
    assert pd.find(_client(vercel, project, sleeps), SHA, BRANCH, timeout=60, poll=0).startswith("https://")
    assert sleeps == [2.0, 4.0]
    wrong = pd.Vercel({**_env(vercel, project), "VERCEL_TOKEN": "not-it"}, pd._urlopen, lambda _s: None)
    with pytest.raises(pd.Failed, match=r"^Vercel GET /v9/projects/.+/env: HTTP 403 Not authorized$"):
        pd.find(wrong, SHA, BRANCH, timeout=60, poll=0)


@pytest.mark.parametrize(
    ("extra", "outcome", "words"),
    [
        ({"HEAD_REPOSITORY": "someone/maya", "PREVIEW_JOB": "skipped"}, pd.NoPreview, "fork"),
        ({"PREVIEW_JOB": "skipped"}, pd.NoPreview, "botPullRequests"),
        ({"VERCEL_TOKEN": ""}, pd.Failed, "pulumi config set --secret maya-infra:previewsVercelToken"),
        ({"PREVIEW_JOB": "cancelled"}, pd.Failed, "the preview job ended cancelled"),
        ({"VERCEL_AUTOMATION_BYPASS_SECRET": ""}, pd.Failed, "pulumi up --stack staging"),
    ],
)
def test_preconditions(vercel: FakeVercel, extra: dict[str, str], outcome: type[Exception], words: str) -> None:
    with pytest.raises(outcome, match=words):
        pd.precondition(_env(vercel, "prj_x", **extra))
    assert vercel.requests == []  # decided before asking Vercel anything


def test_main_writes_the_url_output_or_one_line(
    vercel: FakeVercel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _wired(vercel)
    vercel.add_deployment(project, target="preview", sha=SHA, state="READY", promote=False)
    output = tmp_path / "out"
    env = {**_env(vercel, project), "GITHUB_OUTPUT": str(output)}
    assert pd.main(["--sha", SHA, "--branch", BRANCH, "--poll", "0"], env) == 0
    assert output.read_text().startswith("url=https://maya-frontend-staging-")
    capsys.readouterr()
    assert pd.main(["--sha", "c" * 40, "--branch", BRANCH, "--timeout", "0", "--poll", "0"], env) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("::error::no READY Vercel preview of cccccccccccc after 0 s")
    assert output.read_text().count("url=") == 1
