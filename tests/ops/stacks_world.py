"""Both stacks side by side on ONE fake Railway and ONE fake Vercel, as the rehearsal serves them: each with
its own project (named and marked as ``pulumi up`` makes it), backend deployment history, PostgreSQL volume
with a backup, Vercel project with production deployments, healthy stand-in endpoints, and its outputs file.

Built for the tests that point one stack's outputs at the other stack's commands (the wrong-stack matrix),
interrupt commands, and run two of them at once. Commands run through ``python -m ops``'s own ``main()``
(:meth:`Stacks.main`) or as a real subprocess (:meth:`Stacks.spawn`).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.railway import operations as gql
from components.railway import provider as p
from components.railway.backend import project_description
from components.railway.client import ClientSettings, RailwayClient
from config import PROJECT_DIR, load_from_stack_file
from ops.__main__ import main
from ops.console import Streams
from tests.fakes.railway_api import FakeRailway
from tests.fakes.vercel_api import FakeVercel
from tests.ops import world as w
from tests.ops.apps import FakeApp, fixed

RAILWAY_TOKEN = "rw-token-stacks-9c1e7f3a"
VERCEL_TOKEN = "vc-token-stacks-4b8d2e6f"
STACKS = ("staging", "production")


class Tty(io.StringIO):
    """A stdin that says it is a terminal, with the person's answer already typed."""

    def isatty(self) -> bool:
        return True


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Stack:
    name: str
    ids: dict[str, str]
    outputs: dict[str, Any]
    outputs_path: Path
    deployments: dict[str, str]
    vercel_project: str
    backup_id: str
    volume: str


@dataclass
class Stacks:
    railway: FakeRailway
    vercel: FakeVercel
    client: RailwayClient
    root: Path
    stacks: dict[str, Stack] = field(default_factory=dict)

    def env(self, outputs_of: str, **more: str) -> dict[str, str]:
        """The on-call env file of stack ``outputs_of`` (as the rehearsal writes it), plus ``more``."""
        return {
            "MAYA_RAILWAY_API_URL": self.railway.url,
            "RAILWAY_API_TOKEN": RAILWAY_TOKEN,
            "RAILWAY_PREVIEW_TOKEN": RAILWAY_TOKEN,
            "MAYA_VERCEL_API_URL": self.vercel.url,
            "VERCEL_TOKEN": VERCEL_TOKEN,
            "MAYA_OPS_OUTPUTS": str(self.stacks[outputs_of].outputs_path),
            "MAYA_OPS_LOCK_DIR": str(self.root / "locks"),
            **more,
        }

    def main(self, *argv: str, env: dict[str, str], stdin: io.StringIO | None = None) -> Ran:
        """``python -m ops ARGV`` in this process: ops/__main__.py's ``main`` with captured streams."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):  # argparse writes to sys.*
            try:
                code = main(list(argv), Streams(env, stdin or io.StringIO(), out, err))
            except SystemExit as exit_:  # argparse: --help, or a usage error
                code = int(exit_.code or 0)
        ran = Ran(code, out.getvalue(), err.getvalue())
        assert RAILWAY_TOKEN not in ran.text and VERCEL_TOKEN not in ran.text  # nothing secret, ever
        return ran

    def spawn(self, *argv: str, env: dict[str, str], stdin: Any = subprocess.DEVNULL) -> Running:
        """``python -m ops ARGV`` as a real process, its output collected as it comes (:class:`Running`)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "ops", *argv],
            cwd=PROJECT_DIR,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1", **env},
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return Running(process)

    def requests(self) -> int:
        """Every request either platform received (reset by :meth:`reset`)."""
        return self.railway.count() + len(self.vercel.requests)

    def writes(self) -> int:
        return self.railway.count(mutations_only=True) + sum(1 for r in self.vercel.requests if r.is_write)

    def reset(self) -> None:
        self.railway.reset_counters()
        with self.vercel._lock:
            self.vercel.requests.clear()

    def live_commit(self, stack: str) -> str | None:
        return w.live_railway_commit(self.railway, self.stacks[stack].ids["railway_service_id"])

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Railway's workflows (backup, restore) and deployments do not finish while the block runs, as when
        Railway takes minutes; afterwards they finish at the next look."""
        fake = self.railway
        new_workflow = fake._new_workflow

        def held(kind: str, **extra: Any) -> str:
            return new_workflow(kind, **{**extra, "_polls_needed": 10**9})

        fake._new_workflow = held  # type: ignore[method-assign]
        fake.deploy_polls_to_finish = 10**9
        try:
            yield
        finally:
            fake._new_workflow = new_workflow  # type: ignore[method-assign]
            fake.deploy_polls_to_finish = 2
            fake.finish_workflows()

    def volume_state(self, stack: str) -> str:
        with self.railway._lock:
            return str(self.railway.state.volume_instances[self.stacks[stack].volume]["state"])


def _seed(world: Stacks, name: str, started: list[Any]) -> Stack:
    cfg = load_from_stack_file(name)
    client, fake = world.client, world.railway
    human = fake.dashboard()  # what people and CI made before: not through maya-infra's exactly-once rule
    created = human.execute(
        gql.PROJECT_CREATE,
        {
            "input": {
                "name": cfg.backend.project_name,
                "description": project_description(cfg),  # the ownership marker `pulumi up` writes
                "defaultEnvironmentName": cfg.environment,
            }
        },
    )["projectCreate"]
    project_id = created["id"]
    environment_id = created["environments"]["edges"][0]["node"]["id"]
    service = human.execute(
        gql.SERVICE_CREATE,
        {"input": {"projectId": project_id, "name": cfg.backend.service_name, "source": {"repo": "mayassistant/maya"}}},
    )["serviceCreate"]["id"]
    ids = {"railway_project_id": project_id, "railway_environment_id": environment_id, "railway_service_id": service}
    fake.advance_deployments()
    shas = {k: f"{k}{name}".encode().hex()[:40].ljust(40, "0") for k in ("c1", "c2", "c3")}
    deployments = {
        "c1": w.railway_deploy(human, fake, ids, shas["c1"]),
        "c2": w.railway_deploy(human, fake, ids, shas["c2"], fail="FAILED"),
        "c3": w.railway_deploy(human, fake, ids, shas["c3"]),
    }

    def provider(cls: type[Any]) -> Any:
        instance = cls()
        instance.use_client(client)
        return instance

    postgres = provider(p.PostgresProvider).create(
        {"project_id": project_id, "environment_id": environment_id, "workflow_poll_seconds": 0.01}
    )
    volume = str(postgres.outs["volume_instance_id"])
    human.execute(gql.VOLUME_INSTANCE_BACKUP_CREATE, {"volumeInstanceId": volume, "name": f"nightly {name}"})
    fake.finish_workflows()
    with fake._lock:
        backup_id = next(b["id"] for b in fake.state.backups.values() if b["_volumeInstanceId"] == volume)
    vercel_project = world.vercel.add_project(cfg.frontend.project_name)
    vshas = {k: f"v{k}{name}".encode().hex()[:40].ljust(40, "0") for k in w.VERCEL_HISTORY}
    w.vercel_history(world.vercel, vercel_project, vshas)
    app = FakeApp({"/api/health": fixed(200, w.HEALTHY_BODY), "/": fixed(200, "<html>MAYA</html>")})
    app.start()
    started.append(app)
    outputs = {
        "stack": name,
        "platforms": ["github", "railway", "vercel"],
        "backend_url": app.url,
        "frontend_url": app.url,
        "vercel_project_id": vercel_project,
        "railway_volume_instance_id": volume,
        **ids,
    }
    path = world.root / f"{name}.outputs.json"
    path.write_text(json.dumps(outputs))
    return Stack(name, ids, outputs, path, deployments, vercel_project, backup_id, volume)


@contextlib.contextmanager
def two_stacks(root: Path) -> Iterator[Stacks]:
    started: list[Any] = []
    try:
        railway = FakeRailway(token=RAILWAY_TOKEN, deploy_polls_to_finish=2)
        vercel = FakeVercel(token=VERCEL_TOKEN)
        started += [railway, vercel]
        railway.start()
        vercel.start()
        client = RailwayClient(
            RAILWAY_TOKEN, ClientSettings(endpoint=railway.url, requests_per_second=1000, timeout_seconds=5)
        )
        root.mkdir(parents=True, exist_ok=True)
        world = Stacks(railway, vercel, client, root)
        for name in STACKS:
            world.stacks[name] = _seed(world, name, started)
        world.reset()
        yield world
    finally:
        for server in reversed(started):
            server.stop()


class Running:
    """A spawned ``python -m ops`` whose stdout and stderr are collected as they come (a prompt has no newline)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._chunks: dict[str, list[str]] = {"out": [], "err": []}
        self._readers = [
            threading.Thread(target=self._read, args=(process.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(process.stderr, "err"), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, key: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            self._chunks[key].append(decoder.decode(chunk))

    @property
    def out(self) -> str:
        return "".join(self._chunks["out"])

    @property
    def err(self) -> str:
        return "".join(self._chunks["err"])

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        """Wait (bounded) until ``condition()`` while the process runs; its output is in the failure."""

        def met() -> bool:
            if condition():
                return True
            if self.process.poll() is not None:
                self.finish()
                raise AssertionError(f"exited {self.process.returncode} before {what}:\n{self.out}{self.err}")
            return False

        until(met, f"{what}; so far:\n{self.out}{self.err}", timeout)

    def finish(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code


def until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait (bounded) until ``condition()``; fail the test naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
