#!/usr/bin/env bash
# The main command (README, "Quick start"): a local rehearsal of `pulumi preview` + `pulumi up` for both
# stacks against fake APIs on 127.0.0.1 — set-up included (venv, engine), clean-up at the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/bootstrap.sh
MAYA_ENGINE_BIN="$(bash scripts/provide-engine.sh)"
export MAYA_ENGINE_BIN
exec venv/bin/python scripts/rehearse.py "$@"
