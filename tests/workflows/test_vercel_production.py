"""The pipeline's automatic rollback target (workflows/scripts/vercel_production.py ``current``), against the
fake Vercel on 127.0.0.1: only a deployment that served the production domains is recorded as the one to go
back to — the same rule (``served_production``) as ``python -m ops rollback frontend``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.vercel_api import FakeVercel
from workflows.scripts import vercel_production as vp

TOKEN = "vc-ci-token-3f9a"


@pytest.fixture
def vercel() -> Iterator[FakeVercel]:
    fake = FakeVercel(token=TOKEN)
    fake.start()
    yield fake
    fake.stop()


def _current(
    fake: FakeVercel, project: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, str], str]:
    output = tmp_path / "output"
    env = {
        "VERCEL_TOKEN": TOKEN,
        "VERCEL_PROJECT_ID": project,
        "VERCEL_API_URL": fake.url,
        "GITHUB_OUTPUT": str(output),
    }
    code = vp.main(["current"], env)
    recorded = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    return code, recorded, capsys.readouterr().out


def test_the_live_promoted_deployment_is_recorded(
    vercel: FakeVercel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = vercel.add_project("maya-frontend")
    live = vercel.add_deployment(project)
    vercel.add_deployment(project, promote=False)  # the new build, staged: the one about to be promoted
    code, recorded, _ = _current(vercel, project, tmp_path, capsys)
    assert code == 0
    assert recorded == {"previous_id": live, "previous_url": vercel.deployments[live]["url"]}


def test_a_production_target_that_never_served_is_no_rollback_target(
    vercel: FakeVercel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = vercel.add_project("maya-frontend")
    vercel.add_deployment(project)
    staged = vercel.add_deployment(project, promote=False)
    with vercel._lock:  # Vercel naming a staged build as the production target: never "promote it back"
        vercel._production[project] = staged
    code, recorded, out = _current(vercel, project, tmp_path, capsys)
    assert code == 0
    assert recorded == {"previous_id": "", "previous_url": ""}
    assert f"::warning::production points at {staged}" in out and "readySubstate STAGED" in out


def test_without_the_evidence_in_the_project_the_deployment_decides(
    vercel: FakeVercel, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = vercel.add_project("maya-frontend")
    live = vercel.add_deployment(project)
    original = vp.production_of

    def bare(env: Any, http: Any = None) -> dict[str, Any]:  # an answer without readySubstate
        return {k: v for k, v in original(env, http).items() if k != "readySubstate"}

    monkeypatch.setattr(vp, "production_of", bare)
    code, recorded, _ = _current(vercel, project, tmp_path, capsys)
    assert code == 0 and recorded["previous_id"] == live
    assert vercel.count("GET", f"/v13/deployments/{live}") == 1
    vercel.deployments[live]["readySubstate"] = "STAGED"
    code, recorded, _ = _current(vercel, project, tmp_path, capsys)
    assert code == 0 and recorded["previous_id"] == ""


def test_nothing_live_yet_records_nothing(
    vercel: FakeVercel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = vercel.add_project("maya-frontend")
    code, recorded, out = _current(vercel, project, tmp_path, capsys)
    assert code == 0 and recorded == {"previous_id": "", "previous_url": ""} and "::warning::" not in out
