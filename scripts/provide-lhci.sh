#!/usr/bin/env bash
# Provide Lighthouse CI (@lhci/cli) exactly as the performance job installs it: `npm ci` from maya-infra's lock
# file (workflows/tools/lighthouse-ci/), for the tests that run `lhci assert` on the generated budgets.
#
# Prints the path of the `lhci` binary on stdout (diagnostics go to stderr). Installed once into
# ${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}/lhci-<sha256 of the lock file>/ (about 130 MB, ~30 s);
# a changed lock file installs anew. Needs the npm registry the first time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lock_dir="$here/workflows/tools/lighthouse-ci"
log() { echo "provide-lhci: $*" >&2; }

digest="$(cat "$lock_dir/package.json" "$lock_dir/package-lock.json" | sha256sum | cut -c1-16)"
cache_root="${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}"
dest="$cache_root/lhci-$digest"
if [[ -x "$dest/node_modules/.bin/lhci" && -f "$dest/.complete" ]]; then
  echo "$dest/node_modules/.bin/lhci"
  exit 0
fi
command -v npm >/dev/null 2>&1 || { log "npm is not on PATH: install Node.js with npm"; exit 2; }

log "npm ci of @lhci/cli from workflows/tools/lighthouse-ci into $dest (first time only)"
mkdir -p "$cache_root"
staging="$(mktemp -d "$cache_root/.lhci-staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
cp "$lock_dir/package.json" "$lock_dir/package-lock.json" "$staging/"
(cd "$staging" && npm ci --ignore-scripts --no-audit --no-fund >&2)
"$staging/node_modules/.bin/lhci" --version >&2
touch "$staging/.complete"
rm -rf "$dest"
mv "$staging" "$dest"
trap - EXIT
echo "$dest/node_modules/.bin/lhci"
