#!/usr/bin/env bash
# The main command (README, "Quick start"): a local rehearsal of `pulumi preview` + `pulumi up` for both
# stacks against fake APIs on 127.0.0.1 — set-up included (venv, engine), clean-up at the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/bootstrap.sh
MAYA_ENGINE_BIN="$(bash scripts/provide-engine.sh)"
export MAYA_ENGINE_BIN
# GitHub: the provider plugin (built once and cached) and GitHub's OpenAPI description, the fake's judge.
# Without a plugin the rehearsal leaves GitHub out and says so.
if MAYA_GITHUB_PLUGIN="$(bash scripts/provide-plugins.sh github | cut -f3)" && [[ -n "$MAYA_GITHUB_PLUGIN" ]]; then
  export MAYA_GITHUB_PLUGIN
  MAYA_GITHUB_OPENAPI_DIR="$(bash scripts/provide-github-openapi.sh)"
  export MAYA_GITHUB_OPENAPI_DIR
fi
exec venv/bin/python scripts/rehearse.py "$@"
