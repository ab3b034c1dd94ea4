"""``scripts/rehearse.sh --serve``: the env file it writes carries everything ``python -m ops`` needs, pointing at
the fakes — status, health, rollback, backups, previews and adopt run from it as an operator would (docs/oncall.md,
"Try it on the local rehearsal"), and it carries the state backend for ``pulumi stack export | ops audit``."""

from __future__ import annotations

import importlib.util
import io
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from config import PROJECT_DIR
from ops.__main__ import main
from ops.console import Streams
from tests.engine.github_world import fake_github
from tests.ops.oncall_world import World, build_world
from tests.secrets import TEST_SECRETS

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def rehearse() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rehearse", PROJECT_DIR / "scripts" / "rehearse.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[..., World]]:
    started: list[Any] = []
    yield lambda **kwargs: build_world(tmp_path, started, **kwargs)
    for server in reversed(started):
        server.stop()


def _sourced(env_file: Path) -> dict[str, str]:
    """What `source ENV_FILE` exports, as bash sees it."""
    done = subprocess.run(
        ["/bin/bash", "-c", 'source "$1" && /usr/bin/env -0', "_", str(env_file)],
        env={},
        capture_output=True,
        check=True,
        timeout=30,
    )
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return {key: value for key, value in pairs if key not in ("PWD", "SHLVL", "_", "OLDPWD")}


def _ops(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Streams(env, io.StringIO(), out, err))
    return code, out.getvalue(), err.getvalue()


def test_every_oncall_command_runs_from_the_env_file(
    rehearse: ModuleType, make_world: Callable[..., World], tmp_path: Path
) -> None:
    world = make_world()
    world.railway.token = TEST_SECRETS["maya-infra:railwayToken"]  # the rehearsal's fake accepts the test token
    engine = {"PATH": "/opt/engine/bin:/usr/bin", "PULUMI_BACKEND_URL": "file:///tmp/state", "PULUMI_HOME": "/h"}
    engine["PULUMI_CONFIG_PASSPHRASE"] = "test passphrase"
    with (
        fake_github(["staging"]) as github,
        rehearse.serving(
            world.railway, {"staging": dict(world.outputs)}, tmp_path, github=github, engines={"staging": engine}
        ) as guides,
    ):
        env_file = tmp_path / "oncall-staging.env"
        env = _sourced(env_file)
        assert {k: env[k] for k in engine} == engine  # `pulumi stack export --stack staging` reads its state
        assert all(
            env[k].startswith("http://127.0.0.1:")
            for k in ("MAYA_RAILWAY_API_URL", "MAYA_VERCEL_API_URL", "MAYA_GITHUB_API_URL")
        )
        (guide,) = guides
        assert f"source {env_file}" in guide
        for command in ("status", "rollback backend", "backups", "previews", "adopt", "audit -"):
            assert f"python -m ops {command}" in guide, command
        env["MAYA_OPS_LOCK_DIR"] = str(tmp_path / "locks")
        code, out, err = _ops(env, "status", "--stack", "staging")
        assert code == 1 and "UNHEALTHY" in out, err  # the rehearsal made it unhealthy
        code, out, err = _ops(env, "previews", "--stack", "staging")
        assert code == 0 and "#12" in out and "pr-12" in out, err
        code, out, err = _ops(env, "adopt", "--stack", "staging")
        assert code == 0 and "nothing written" in out, err
        code, out, err = _ops(env, "backups", "--stack", "staging")
        assert code == 2 and "no single database volume" in err  # this world has no PostgreSQL
        code, out, err = _ops(env, "rollback", "backend", "--stack", "staging", "--poll", "0.05")
        assert code == 0 and "healthy" in out, err
        code, out, err = _ops(env, "rollback", "frontend", "--stack", "production", "--yes")
        assert code == 2 and "are stack staging's, not production's" in err  # the other stack's env file is needed
