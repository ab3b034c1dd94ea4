#!/usr/bin/env bash
# Create or refresh ./venv with the program's and the tests' Python dependencies.
# Idempotent: reinstalls only when requirements*.txt changed (a hash stamp in the venv).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/venv"
python="${PYTHON:-python3}"

"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "bootstrap: Python 3.11 or newer is needed (found $("$python" --version 2>&1))" >&2; exit 2; }

stamp="$(cat "$here/requirements.txt" "$here/requirements-dev.txt" | sha256sum | cut -c1-16)"
if [[ -x "$venv/bin/python" && -f "$venv/.maya-stamp" && "$(cat "$venv/.maya-stamp")" == "$stamp" ]]; then
  exit 0
fi
echo "bootstrap: installing Python dependencies into $venv" >&2
[[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements-dev.txt" >&2
echo "$stamp" > "$venv/.maya-stamp"
