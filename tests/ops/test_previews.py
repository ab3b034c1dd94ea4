"""``python -m ops previews``: the live previews with age and URL; pruning stale ones only when confirmed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ops.__main__ import build_parser
from ops.console import Streams
from ops.previews import duration
from tests.workflows.preview_world import RAILWAY_TOKEN, VERCEL_TOKEN, World, world
from workflows.scripts import pr_preview as pp


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run(w: World, tmp: Path, *argv: str, stdin: io.StringIO | None = None) -> tuple[int, str, str]:
    outputs = tmp / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "stack": "staging",
                "railway_project_id": w.project_id,
                "railway_environment_id": w.staging_id,
                "railway_service_id": w.backend_id,
                "vercel_project_id": w.vercel_project,
            }
        )
    )
    env = {
        "RAILWAY_PREVIEW_TOKEN": RAILWAY_TOKEN,
        "MAYA_RAILWAY_API_URL": w.railway.url,
        "VERCEL_TOKEN": VERCEL_TOKEN,
        "MAYA_VERCEL_API_URL": w.vercel.url,
        "MAYA_OPS_LOCK_DIR": str(tmp / "locks"),
    }
    args = build_parser().parse_args(["previews", "--stack", "staging", "--outputs", str(outputs), *argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.handler(args, Streams(env=env, stdin=stdin or io.StringIO(), out=out, err=err))
    return code, out.getvalue(), err.getvalue()


def _two_previews(w: World) -> None:
    target = pp.Target(w.project_id, w.staging_id, w.backend_id)
    for pr in (3, 4):
        pp.up(w.clients(), target, pr, f"b{pr}", str(pr) * 40, "mayassistant/maya", timeout=5, poll=0)
    old = (datetime.now(UTC) - timedelta(days=4)).isoformat().replace("+00:00", "Z")
    w.environments()["pr-3"]["createdAt"] = old  # opened four days ago


def test_lists_previews_with_age_and_url(tmp_path: Path) -> None:
    with world() as w:
        _two_previews(w)
        code, out, _ = _run(w, tmp_path)
        assert code == 0
        assert "live previews: 2 of at most 5" in out
        lines = [line for line in out.splitlines() if line.startswith("  #")]
        assert lines[0].split()[:3] == ["#3", "pr-3", "4d"] and lines[0].split()[-1] == "b3"
        assert lines[1].split()[:2] == ["#4", "pr-4"]
        backend = [line.split()[1] for line in out.splitlines() if line.strip().startswith("backend ")]
        frontend = [line.split()[1] for line in out.splitlines() if line.strip().startswith("frontend ")]
        assert len(backend) == 2 and all(u.startswith("https://") and "railway" in u for u in backend)
        assert len(frontend) == 2 and all(u.startswith("https://") and "vercel.app" in u for u in frontend)
        code, out, _ = _run(w, tmp_path, "--json")
        assert [json.loads(line)["environment"] for line in out.splitlines()] == ["pr-3", "pr-4"]


def test_prune_removes_only_stale_previews_after_confirmation(tmp_path: Path) -> None:
    with world() as w:
        _two_previews(w)
        code, _, err = _run(w, tmp_path, "--prune-older-than", "3d")  # no terminal, no --yes
        assert code == 2 and "--yes" in err and sorted(w.environments()) == ["pr-3", "pr-4"]
        code, _, err = _run(w, tmp_path, "--prune-older-than", "3d", stdin=_Tty("no\n"))
        assert code == 2 and "not confirmed" in err and sorted(w.environments()) == ["pr-3", "pr-4"]
        code, out, _ = _run(w, tmp_path, "--prune-older-than", "3d", stdin=_Tty("prune\n"))
        assert code == 0 and "removed #3" in out and list(w.environments()) == ["pr-4"]
        assert {e["gitBranch"] for e in w.vercel.envs.values()} == {"b4"}  # b3's variable went with it
        code, out, _ = _run(w, tmp_path, "--prune-older-than", "3d", "--yes")
        assert code == 0 and "nothing to prune" in out and list(w.environments()) == ["pr-4"]


def test_production_has_no_previews(tmp_path: Path) -> None:
    args = build_parser().parse_args(["previews", "--stack", "production", "--outputs", str(tmp_path / "o.json")])
    (tmp_path / "o.json").write_text('{"stack": "production"}')
    err = io.StringIO()
    assert args.handler(args, Streams(env={}, stdin=io.StringIO(), out=io.StringIO(), err=err)) == 2
    assert "no pull-request previews" in err.getvalue()


@pytest.mark.parametrize("text", ["3", "0d", "3w", "-1h"])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(Exception, match="36h or 3d"):
        duration(text)
    assert duration("36h") == timedelta(hours=36)
