#!/usr/bin/env bash
# The test command (README, "Tests"): set-up included, so it works on a fresh machine.
#   1. ./venv with every Python dependency        (scripts/bootstrap.sh)
#   2. the Pulumi engine, built once and cached    (scripts/provide-engine.sh)
#   3. actionlint and the GitHub provider plugin, built once and cached; GitHub's OpenAPI description;
#      PostgreSQL (Debian's package, installed when missing) for the real tests of the PostgreSQL state backend
#   4. lint, types, then every test layer          (pytest on every core; "no tests ran" is a failure)
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/components -k railway`.
# `--fast` first is the inner loop: no lint, types or Go test, and no test that runs the real engine
# (marker `engine`); a few minutes instead of the full run. MAYA_TEST_WORKERS=N sets pytest's workers (default:
# one per core; 0 runs in-process, e.g. for a debugger).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

fast=0
if [[ "${1:-}" == "--fast" ]]; then
  fast=1
  shift
fi

bash scripts/bootstrap.sh
engine_bin="$(bash scripts/provide-engine.sh)"
export MAYA_ENGINE_BIN="$engine_bin"
MAYA_ACTIONLINT="$(bash scripts/provide-actionlint.sh)"
export MAYA_ACTIONLINT
# the GitHub provider plugin for the real-engine preview of the program (Vercel's cannot be had here)
MAYA_GITHUB_PLUGIN="$(bash scripts/provide-plugins.sh github | cut -f3)"
export MAYA_GITHUB_PLUGIN
# GitHub's OpenAPI description (npm @octokit/openapi), the judge of the fake GitHub API (tests/fakes/github/)
MAYA_GITHUB_OPENAPI_DIR="$(bash scripts/provide-github-openapi.sh)"
export MAYA_GITHUB_OPENAPI_DIR
# PostgreSQL's server binaries (tests/engine/test_state_backend.py starts its own throwaway server)
MAYA_POSTGRES_BIN="$(bash scripts/provide-postgres.sh)"
export MAYA_POSTGRES_BIN

pytest_args=(-n "${MAYA_TEST_WORKERS:-auto}" --dist loadfile)
if [[ $fast -eq 1 ]]; then
  pytest_args+=(-m "not engine")
else
  echo "== ruff" >&2
  venv/bin/ruff check .
  venv/bin/ruff format --check .
  echo "== mypy" >&2
  venv/bin/mypy
  echo "== go test (our Python language host, tools/engine/langhost)" >&2
  (cd tools/engine/langhost && go test -count=1 ./...)
fi
echo "== pytest" >&2
set +e
venv/bin/python -m pytest "${pytest_args[@]}" "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit $status
