#!/usr/bin/env bash
# Regenerate the CI tools' lockfiles (workflows/tools/) from the versions of workflows/pins.py.
# Needs npm and uv (pip install uv); reads the npm registry and PyPI. Review the diff, then
# `bash scripts/regenerate-workflows.sh` (the app repositories get the new lockfiles with the workflows).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-venv/bin/python}"
UV="${UV:-uv}"
tools=workflows/tools
"$PYTHON" - "$tools" <<'PY'
import json, sys
from pathlib import Path
from workflows import pins
folder = Path(sys.argv[1])
package = json.loads((folder / "package.json").read_text())
package["dependencies"] = dict(sorted(pins.NPM_TOOLS.items()))
(folder / "package.json").write_text(json.dumps(package, indent=2) + "\n")
test = {"pytest", "pytest-cov", "coverage"}
(folder / "requirements-tools.in").write_text("".join(f"{n}=={v}\n" for n, v in pins.PYPI_TOOLS.items() if n not in test))
(folder / "requirements-test-tools.in").write_text("".join(f"{n}=={v}\n" for n, v in pins.PYPI_TOOLS.items() if n in test))
PY
(cd "$tools" && rm -f package-lock.json && npm install --package-lock-only --ignore-scripts --no-audit --no-fund)
for lock in requirements-tools requirements-test-tools; do
  "$UV" pip compile "$tools/$lock.in" --generate-hashes --python-version "$("$PYTHON" -c 'from workflows import pins; print(pins.PYTHON_BACKEND)')" \
    --python-platform x86_64-manylinux_2_28 --no-header --quiet -o "$tools/$lock.txt"
done
git status --short "$tools"
