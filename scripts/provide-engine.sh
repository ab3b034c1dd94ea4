#!/usr/bin/env bash
# Provide the Pulumi engine for this project: the `pulumi` CLI, a Python language host and the two Python
# shims (pulumi-language-python-exec, pulumi-resource-pulumi-python), all in one directory.
#
# Prints that directory on stdout; everything else goes to stderr. Typical use:
#   PATH="$(scripts/provide-engine.sh):$PATH"
#
#   * If `pulumi` is on PATH it is used, unless MAYA_ENGINE_BUILD=always (then PATH is ignored).
#   * Otherwise the engine is built with the ordinary `go` command from Go modules and cached outside the
#     repository in ${MAYA_ENGINE_CACHE:-$HOME/.cache/maya-infra/engine}/<version>-<hash>/bin, where
#     <version> is the `pulumi` Python SDK pinned in requirements.txt (CLI and SDK stay in step) and <hash>
#     covers our language host's sources and the build flags, so editing tools/engine/langhost rebuilds.
#       - CLI: github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@<version>, built like the release (CGO off,
#         -trimpath, osusergo/grpcnotrace tags, version stamped so the Automation API can parse it).
#       - Language host: tools/engine/langhost (ours; the upstream host's module is not served by the Go proxy).
#       - Shims: plain files of the github.com/pulumi/pulumi/sdk/v3@<version> module.
#     The first build takes minutes; later runs only hash a few files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "provide-engine: $*" >&2; }

sdk_version="$(sed -nE 's/^[[:space:]]*pulumi[[:space:]]*==[[:space:]]*([0-9][0-9A-Za-z.+-]*).*/\1/p' \
  "$here/requirements.txt" | head -n1)"
if [[ -z "$sdk_version" ]]; then
  log "requirements.txt does not pin pulumi==X.Y.Z; cannot choose an engine version"
  exit 2
fi
version="v${sdk_version}"

if [[ "${MAYA_ENGINE_BUILD:-auto}" != "always" ]] && command -v pulumi >/dev/null 2>&1; then
  dir="$(dirname "$(command -v pulumi)")"
  log "using pulumi from PATH: $dir/pulumi"
  echo "$dir"
  exit 0
fi

# Everything that changes the binaries is part of the cache key.
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version"
tags="osusergo,grpcnotrace"
clipboard_replace="github.com/atotto/clipboard=github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"
hash="$(
  cd "$here/tools/engine/langhost"  # paths relative to the host's folder: moving the folder keeps the cache
  {
    find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) \
      | LC_ALL=C sort | xargs sha256sum
    echo "$ldflags|$tags|$clipboard_replace|CGO_ENABLED=0|-trimpath"
  } | sha256sum | cut -c1-12
)"
cache_root="${MAYA_ENGINE_CACHE:-$HOME/.cache/maya-infra/engine}"
dest="$cache_root/$version-$hash"
if [[ -f "$dest/.complete" && -x "$dest/bin/pulumi" ]]; then
  log "cached engine $version ($hash) at $dest/bin"
  echo "$dest/bin"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "neither pulumi nor go is on PATH: install Go >= 1.26 (or the Pulumi CLI $version)"
  exit 2
fi

log "building Pulumi $version into $dest (first time only; takes several minutes)"
start=$SECONDS
mkdir -p "$cache_root"
# Build next to the destination so the final rename is atomic; a crashed build leaves only this temp dir.
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod" "$work/out/bin"
bin="$work/out/bin"
export CGO_ENABLED=0
build() { go build -trimpath -tags "$tags" -ldflags "$ldflags" "$@" >&2; }

# The CLI's main package cannot be `go install`ed at a version (its go.mod has replace directives), so it is
# built from a throwaway module that requires it and copies the one replace that matters.
(
  cd "$work/mod"
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
  go mod init local/maya-engine-build >/dev/null 2>&1
  go mod edit -replace="$clipboard_replace"
  go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$version" "github.com/pulumi/pulumi/sdk/v3@$version" >&2
  build -o "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  sdk_dir="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
  # Module cache files are read-only (0444); the engine needs them executable.
  install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/"
  install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$bin/"
)
(cd "$here/tools/engine/langhost" && build -o "$bin/pulumi-language-python" .)

"$bin/pulumi" version >/dev/null # fail here, not later, if the binary is broken
echo "$version $hash built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$work/out/.complete"
if [[ ! -f "$dest/.complete" ]]; then
  rm -rf "$dest" # leftovers of an interrupted move
  # If another build finished first, mv fails and its (complete) result is used.
  mv -T "$work/out" "$dest" 2>/dev/null || [[ -f "$dest/.complete" ]] || { log "could not move the build into $dest"; exit 1; }
fi
log "built $("$dest/bin/pulumi" version) in $((SECONDS - start))s: $dest/bin ($(du -sh "$dest" | cut -f1))"
echo "$dest/bin"
