"""The performance stage's wall time, step by step: staging's rendered job run locally, as a runner runs it.

Every ``run:`` step of the ``performance`` job rendered from Pulumi.staging.yaml is executed under bash in a
scratch workspace (the committed lock files copied where ``actions/checkout`` puts them), with the real
tools: Locust installed from its hashed lockfile (PyPI) into the step's virtual environment, Lighthouse CI with
``npm ci`` from its lockfile (npm), Debian's Chromium as Lighthouse's browser. The lockfile is for the runners'
CPython 3.12; on an older Python the bench adds ``typing_extensions``, which Locust needs only there. Staging
is a stand-in on 127.0.0.1 (``/api/health`` answers after ~20 ms, ``/`` serves a small HTML page), so the load test and
the audits measure this machine, not Railway or Vercel; the baseline is fetched from the fake GitHub. The
``uses:`` steps (checkout, setup-python, setup-node, upload-artifact) are the runner's and are not run.

Usage: venv/bin/python bench/performance_stage.py [--cold] [--chrome /usr/bin/chromium]
  --cold: empty pip and npm caches (a runner whose setup-python/setup-node cache missed)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_from_stack_file  # noqa: E402
from workflows import tools  # noqa: E402
from workflows.performance import PERFORMANCE_JOB, performance_jobs  # noqa: E402

TOKEN = "bench-token"  # noqa: S105 - the fake GitHub's, on 127.0.0.1
PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>MAYA</title>"
    b"<meta name='viewport' content='width=device-width, initial-scale=1'><meta name='description' content='MAYA'>"
    b"</head><body><main><h1>MAYA</h1>" + b"<p>Your assistant.</p>" * 200 + b"</main></body></html>"
)


class _Staging(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/api/"):
            time.sleep(0.02)  # a database round trip
            body, kind = b'{"status":"healthy","database":"ok","external_apis":"ok"}', "application/json"
        else:
            body, kind = PAGE, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Silent: one line per Locust request would bury the bench's own table."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--chrome", default=shutil.which("chromium") or shutil.which("google-chrome") or "")
    args = parser.parse_args()
    if not args.chrome:
        print("no Chromium/Chrome found: install Debian's chromium or pass --chrome", file=sys.stderr)
        return 2
    from tests.fakes.github import FakeGitHub
    from tests.fakes.github.artifacts import ArtifactStorage

    cfg = load_from_stack_file("staging")
    job = performance_jobs([cfg], after=["deploy"])[PERFORMANCE_JOB]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Staging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_address[1]}"
    work = Path(tempfile.mkdtemp(prefix="maya-perf-bench-"))
    try:
        workspace, temp = work / "workspace", work / "runner-temp"
        temp.mkdir()
        for path, content in tools.repository_files().items():
            (workspace / path).parent.mkdir(parents=True, exist_ok=True)
            (workspace / path).write_text(content)
        env = {
            "PATH": os.environ["PATH"],
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_PATH": str(work / "github_path"),
            "HOME": os.environ.get("HOME", "/root"),
            "RUNNER_TEMP": str(temp),
            "CHROME_PATH": args.chrome,
            "PERFORMANCE_PLAN": job["env"]["PERFORMANCE_PLAN"],
            "GITHUB_STEP_SUMMARY": str(work / "summary.md"),
            "GITHUB_OUTPUT": str(work / "output"),
        }
        if args.cold:
            env["PIP_NO_CACHE_DIR"] = "1"
            env["npm_config_cache"] = str(work / "npm-cache")
        with ArtifactStorage() as storage, FakeGitHub(repos=["mayassistant/maya"], token=TOKEN) as github:
            github.artifact_storage = storage
            env |= {"GITHUB_API_URL": github.url + "api/v3", "GITHUB_TOKEN": TOKEN, "REPO": "mayassistant/maya"}
            rows = _run_steps(job, workspace, env, local, cfg.frontend.url)
        total = sum(seconds for _, seconds, _ in rows)
        print(f"\n{'step':<66} {'seconds':>8}  exit")
        for name, seconds, status in rows:
            print(f"{name[:66]:<66} {seconds:8.1f}  {status}")
        print(f"{'all run: steps (uses: steps are the runner: not run)':<66} {total:8.1f}")
        caches = "cold" if args.cold else "warm"
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; caches: {caches}")
        print((work / "summary.md").read_text())
        return 0
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


def _github_path(env: dict[str, str]) -> None:
    """What a step appended to $GITHUB_PATH comes first on PATH for the later steps, as on a runner."""
    path = Path(env["GITHUB_PATH"])
    if path.exists():
        added = [line for line in path.read_text().splitlines() if line]
        env["PATH"] = os.pathsep.join([*reversed(added), env["PATH"]])
        path.write_text("")


def _run_steps(
    job: dict[str, Any], workspace: Path, env: dict[str, str], local: str, frontend_url: str
) -> list[tuple[str, float, int]]:
    rows = []
    for step in job["steps"]:
        if "run" not in step:
            continue
        step_env = {k: str(v) for k, v in (step.get("env") or {}).items() if "${{" not in str(v)}
        if "BACKEND_URL" in step_env:
            step_env |= {"BACKEND_URL": local, "FRONTEND_URL": local}
        run = step["run"].replace(frontend_url, local)
        cwd = workspace / step.get("working-directory", ".")
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-e", "-c", run],
            cwd=cwd,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        _github_path(env)
        rows.append((step["name"], time.monotonic() - started, done.returncode))
        if step["name"].startswith("Install Locust") and sys.version_info < (3, 12):
            # the lockfile is for the runners' CPython 3.12; Locust on this 3.11 also needs typing_extensions
            venv = Path(env["RUNNER_TEMP"]) / "performance-tools"
            subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "typing_extensions"], check=True)
        if done.returncode != 0:
            print(
                f"--- {step['name']} exited {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}",
                file=sys.stderr,
            )
    return rows


if __name__ == "__main__":
    sys.exit(main())
