#!/usr/bin/env bash
# Provide GitHub's published OpenAPI descriptions, against which the fake GitHub API (tests/fakes/github/)
# validates every request and response.
#
# Prints the folder holding the descriptions on stdout (diagnostics go to stderr):
#   api.github.com.json  what production talks to (github.com)
#   ghes-3.19.json       GitHub Enterprise Server, the /api/v3 layout the provider uses against a base URL
#   VERSION              the @octokit/openapi version they came from
#   * They come from the npm package @octokit/openapi (GitHub's description, repackaged by Octokit) through
#     the npm registry with `npm pack`, which checks the tarball against the registry's integrity hash.
#   * Cached outside the repository, keyed by version: ${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}/
#     github-openapi-<version>/ (the tarball is 28 MB; only the two descriptions used are kept, 24 MB).
#   * MAYA_GITHUB_OPENAPI_VERSION overrides the pinned version (docs/github.md, "The judge: GitHub's OpenAPI description").
set -euo pipefail

version="${MAYA_GITHUB_OPENAPI_VERSION:-23.0.2}"
files=(api.github.com.json ghes-3.19.json)
log() { echo "provide-github-openapi: $*" >&2; }

cache_root="${MAYA_TOOLS_CACHE:-$HOME/.cache/maya-infra/tools}"
dest="$cache_root/github-openapi-$version"
if [[ -f "$dest/.complete" ]]; then
  echo "$dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { log "npm is not on PATH: install Node.js/npm to fetch @octokit/openapi"; exit 2; }
command -v tar >/dev/null 2>&1 || { log "tar is not on PATH"; exit 2; }

log "fetching @octokit/openapi@$version from the npm registry into $dest (first time only)"
mkdir -p "$cache_root"
staging="$(mktemp -d "$cache_root/.github-openapi-staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
tarball="$(cd "$staging" && npm pack --silent "@octokit/openapi@$version" 2>/dev/null | tail -n1)"
[[ -f "$staging/$tarball" ]] || { log "npm pack @octokit/openapi@$version produced no tarball"; exit 1; }
members=()
for f in "${files[@]}"; do members+=("package/generated/$f"); done
tar -xzf "$staging/$tarball" -C "$staging" "${members[@]}"
for f in "${files[@]}"; do
  mv "$staging/package/generated/$f" "$staging/$f"
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["openapi"].startswith("3."), d["openapi"]' \
    "$staging/$f" || { log "$f is not an OpenAPI 3 description"; exit 1; }
done
rm -rf "$staging/package" "$staging/$tarball"
echo "$version" >"$staging/VERSION"
touch "$staging/.complete"
rm -rf "$dest"
mv "$staging" "$dest"
trap - EXIT
log "GitHub OpenAPI descriptions $version: $dest"
echo "$dest"
