#!/usr/bin/env bash
# Provide the Pulumi resource-provider plugins of this program (github, vercel) for offline previews.
#
# Usage: scripts/provide-plugins.sh [github] [vercel]        (default: both)
# Prints one line per plugin it could provide: NAME<TAB>VERSION<TAB>/path/to/pulumi-resource-NAME
# Logs go to stderr. Exits 3 if any plugin asked for could not be provided (the reason is logged), 2 on
# a setup problem. Use the binaries with (PULUMI_HOME a temp dir in tests):
#   pulumi plugin install resource NAME VERSION --file PATH          (or put PATH's folder on PATH)
#
# Versions are those of the Python SDKs in ./venv (their pulumi-plugin.json), else requirements.txt pins.
# Builds use only the Go module proxy and are cached outside the repository in
#   ${MAYA_ENGINE_CACHE:-$HOME/.cache/maya-infra/engine}/plugins-NAME-VERSION/
# with a .complete stamp naming the recipe (hash of the build functions below) and the variant built.
#
# github (pulumi-github 6.15.0), MAYA_GITHUB_PROVIDER=auto|official|rebridge (default auto):
#   official  github.com/pulumi/pulumi-github/provider/v6 at the v6.15.0 release commit (no provider/v6
#             tags, so a commit ref), copied out of the module cache, upstream replace `../upstream`
#             swapped for terraform-provider-github/v6 v6.13.0, schema-embed.json generated, built with
#             the version ldflag. The Go proxy REFUSES this module (403 "This module version is not
#             available", every version and @latest), so this path fails here.
#   rebridge  our own minimal tfbridge wrapper (generated in the temp build dir, never in the repo) around
#             the same upstream the release bridges: integrations/terraform-provider-github/v6 v6.13.0 with
#             pulumi-terraform-bridge/v3 v3.137.0 and Pulumi's terraform-plugin-sdk fork (both served).
#             Same tokens (SingleModule "github_" -> index, MakeStandard), same config default for
#             base_url, autonaming (255, "-"), and an explicit list of fields whose shape the published SDK
#             pinned (bridge-metadata history is not available). Its generated schema is embedded and
#             checked against the installed pulumi_github SDK (every resource/type: property names and
#             list/object shape); any difference fails the build. NOT the released binary: docs,
#             aliases from the metadata history and any behaviour the release's resources.go adds for
#             resources this check cannot see (e.g. DeleteBeforeReplace flags) may differ.
#   auto      official, else rebridge (logged). A cached build of either variant is reused without asking
#             the proxy again; delete the folder (or set the variable) to retry the other.
#
# vercel (pulumiverse-vercel 5.21.1): github.com/pulumiverse/pulumi-vercel/provider/v5 (no provider/v5
#   tags: set MAYA_VERCEL_PROVIDER_REF to the release commit). The Go proxy REFUSES this module and also
#   the upstream github.com/vercel/terraform-provider-vercel (v1, /v2, /v4, /v5 tried), so no rebridge either:
#   this fails here with the proxy's answer.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "provide-plugins: $*" >&2; }
cache_root="${MAYA_ENGINE_CACHE:-$HOME/.cache/maya-infra/engine}"

# Pins of the github release (pulumi/pulumi-github v6.15.0, provider/go.mod).
GH_PROVIDER_MOD=github.com/pulumi/pulumi-github/provider/v6
GH_PROVIDER_REF="${MAYA_GITHUB_PROVIDER_REF:-e46c2bbdc297}" # release commit of v6.15.0
GH_UPSTREAM_MOD=github.com/integrations/terraform-provider-github/v6
GH_UPSTREAM_VERSION=v6.13.0
GH_BRIDGE_VERSION=v3.137.0
TF_SDK_FORK="github.com/hashicorp/terraform-plugin-sdk/v2=github.com/pulumi/terraform-plugin-sdk/v2@v2.0.0-20260318212141-5525259d096b"
TF_EXEC_PIN="github.com/hashicorp/terraform-exec=github.com/hashicorp/terraform-exec@v0.15.0"
VERCEL_PROVIDER_MOD=github.com/pulumiverse/pulumi-vercel/provider/v5
VERCEL_UPSTREAM_MODS="github.com/vercel/terraform-provider-vercel/v5 github.com/vercel/terraform-provider-vercel"

# sdk_version PYMODULE REQUIREMENT: the plugin version the installed Python SDK asks the engine for.
sdk_version() {
  local json v dir
  dir="$(sdk_dir "$1")"
  json="${dir:+$dir/pulumi-plugin.json}"
  if [[ -n "$json" && -f "$json" ]]; then
    v="$(sed -nE 's/.*"version"[[:space:]]*:[[:space:]]*"v?([^"]+)".*/\1/p' "$json" | head -n1)"
  else
    v="$(sed -nE "s/^[[:space:]]*$2[[:space:]]*==[[:space:]]*([0-9][0-9A-Za-z.+-]*).*/\1/p" \
      "$here/requirements.txt" | head -n1)"
  fi
  [[ -n "$v" ]] || { log "cannot tell the $2 version (no venv SDK, no $2==X.Y.Z in requirements.txt)"; return 1; }
  echo "$v"
}

sdk_dir() { # sdk_dir PYMODULE: the installed SDK's folder in ./venv, or nothing
  local d
  for d in "$here"/venv/lib/python3*/site-packages/"$1"; do
    [[ -d "$d" ]] && { echo "$d"; return 0; }
  done
  return 0
}

# module_dir MOD@REF: downloads a module through the proxy; prints its folder, or logs the proxy's answer.
module_dir() {
  local out err
  out="$(go mod download -json "$1" 2>/dev/null || true)"
  err="$(jq -r '.Error // empty' <<<"$out" 2>/dev/null || true)"
  if [[ -z "$out" || -n "$err" ]]; then
    log "the Go module proxy does not serve $1: ${err:-no answer}"
    return 1
  fi
  jq -r '.Dir' <<<"$out"
}

cached() { # cached DEST HASH NAME: prints the binary of a complete build with this recipe
  [[ -f "$1/.complete" && -x "$1/pulumi-resource-$3" ]] || return 1
  [[ "$(cut -d' ' -f1 "$1/.complete")" == "$2" ]] || return 1
  echo "$1/pulumi-resource-$3"
}

finish() { # finish WORK_OUT DEST NAME HASH VARIANT START: stamp, atomic move, log, print path
  local out="$1" dest="$2" name="$3" hash="$4" variant="$5" start="$6"
  "$out/pulumi-resource-$name" -version >/dev/null 2>&1 || log "warning: $name -version failed"
  echo "$hash $variant built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/.complete"
  rm -rf "$dest" # an older recipe or leftovers of an interrupted move
  mv -T "$out" "$dest" 2>/dev/null || [[ -f "$dest/.complete" ]] || { log "could not move the build into $dest"; return 1; }
  log "built $name ($variant) in $((SECONDS - start))s: $dest/pulumi-resource-$name" \
    "($(du -h "$dest/pulumi-resource-$name" | cut -f1))"
  echo "$dest/pulumi-resource-$name"
}

# ------------------------------------------------------------------------------------------------ github

build_github_official() { # WORK VERSION OUT
  local work="$1" version="$2" out="$3" dir
  dir="$(module_dir "$GH_PROVIDER_MOD@$GH_PROVIDER_REF")" || return 1
  cp -r "$dir" "$work/provider" && chmod -R u+w "$work/provider"
  (
    cd "$work/provider"
    go mod edit -dropreplace="$GH_UPSTREAM_MOD" -require="$GH_UPSTREAM_MOD@$GH_UPSTREAM_VERSION"
    # schema-embed.json is gitignored upstream, so the module zip lacks it: generate it like `make`.
    (cd cmd/pulumi-resource-github && VERSION="$version" go run generate.go) >&2
    go build -trimpath -ldflags "-s -w -X $GH_PROVIDER_MOD/pkg/version.Version=$version" \
      -o "$out/pulumi-resource-github" ./cmd/pulumi-resource-github >&2
  )
}

write_github_rebridge_sources() { # DIR VERSION
  mkdir -p "$1/ghinfo" "$1/cmd/pulumi-resource-github" "$1/cmd/schema-dump"
  cat >"$1/ghinfo/info.go" <<'EOF'
// Package ghinfo maps integrations/terraform-provider-github to Pulumi like pulumi-github does.
package ghinfo

import (
	"github.com/integrations/terraform-provider-github/v6/github"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
)

// Version is set with -ldflags -X.
var Version string

func Provider() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(github.NewProvider(Version, "")()),
		Name:    "github",
		Version: Version,
		Config: map[string]*tfbridge.SchemaInfo{
			"base_url": {Default: &tfbridge.DefaultInfo{EnvVars: []string{"GITHUB_BASE_URL"}, Value: "https://api.github.com/"}},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"github_actions_environment_secret":    {DeleteBeforeReplace: true},
			"github_repository_deploy_key":         {DeleteBeforeReplace: true},
			"github_repository_autolink_reference": {DeleteBeforeReplace: true},
			// Upstream later gave reviewers MaxItems 1; the published SDK (its metadata history) keeps a list.
			"github_repository_environment": {Fields: map[string]*tfbridge.SchemaInfo{
				"reviewers": {MaxItemsOne: tfbridge.False()},
			}},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("github_", "index", tokens.MakeStandard("github")))
	info.SetAutonaming(255, "-")
	return info
}
EOF
  cat >"$1/cmd/pulumi-resource-github/main.go" <<'EOF'
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"local/maya-github-provider/ghinfo"
)

//go:embed schema.json
var schema []byte

func main() { tfbridge.Main("github", ghinfo.Version, ghinfo.Provider(), schema) }
EOF
  cat >"$1/cmd/schema-dump/main.go" <<'EOF'
package main

import (
	"encoding/json"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"

	"local/maya-github-provider/ghinfo"
)

func main() {
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	// XInMemoryDocs: descriptions from the TF schema only; no upstream repository is looked up.
	res, err := tfgen.GenerateSchemaWithOptions(tfgen.GenerateSchemaOptions{
		ProviderInfo: ghinfo.Provider(), DiagnosticsSink: sink, XInMemoryDocs: true,
	})
	if err != nil {
		panic(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res.PackageSpec); err != nil {
		panic(err)
	}
}
EOF
}

# check_schema_against_sdk SCHEMA SDK_DIR: property names and list/object shape of every resource and type.
check_schema_against_sdk() {
  python3 - "$1" "$2" <<'EOF'
import glob, json, os, re, sys

spec = json.load(open(sys.argv[1], encoding="utf-8"))
getter = re.compile(r'@pulumi\.getter(?:\(name="(?P<n>\w+)"\))?\s*\n(?:[ \t]*@[^\n]*\n)*'
                    r'[ \t]*def (?P<py>\w+)\(self\)\s*->\s*(?P<t>[^\n]*):')
by_name, init_args = {}, {}
for f in glob.glob(os.path.join(sys.argv[2], "*.py")):
    text = open(f, encoding="utf-8").read()
    for chunk in re.split(r"\n(?=class \w+)", text):
        m = re.match(r"class (\w+)", chunk)
        if not m:
            continue
        props = {g.group("n") or g.group("py"): g.group("t") for g in getter.finditer(chunk)}
        by_name.setdefault(m.group(1), []).append((os.path.basename(f), props))
        a = re.search(r"resource_name: str,\s*args: (\w+),", chunk)
        if a:
            init_args[m.group(1)] = a.group(1)

def find(cls, prefer=(), avoid=()):
    cands = [c for c in by_name.get(cls, []) if c[0] not in avoid]
    for fname, props in cands:
        if fname in prefer:
            return props
    return cands[0][1] if cands else None

def shape(t):
    if t.get("type") in ("array", "object"):
        return {"array": "list", "object": "map"}[t["type"]]
    return "object" if "/types/" in t.get("$ref", "") else "scalar"

def sdk_shape(a):
    if "Sequence[" in a:
        return "list"
    if "Mapping[" in a:
        return "map"
    return "object" if re.search(r"'(?:outputs\.)?[A-Z]\w*'", a) or "outputs." in a else "scalar"

problems = []
def compare(where, props, sdk):
    if sdk is None:
        problems.append(f"{where}: no such class in the SDK")
        return
    sp, cp = set(props) - {"id"}, set(sdk) - {"id"}
    problems.extend(f"{where}: {n} is not in the SDK" for n in sorted(sp - cp))
    problems.extend(f"{where}: {n} is missing (the SDK has it)" for n in sorted(cp - sp))
    problems.extend(f"{where}: {n} is {shape(props[n])}, the SDK has {sdk_shape(sdk[n])}"
                    for n in sorted(sp & cp) if shape(props[n]) != sdk_shape(sdk[n]))

for tok, r in sorted(spec["resources"].items()):
    name = tok.split(":")[-1]
    compare(f"{name} (inputs)", r.get("inputProperties", {}), find(init_args.get(name, name + "Args")))
    compare(f"{name} (outputs)", r.get("properties", {}), find(name, avoid=("outputs.py", "_inputs.py")))
for tok, t in sorted(spec["types"].items()):
    name = tok.split(":")[-1]
    if ":config/" in tok:
        continue
    if name[:1].islower():  # data-source result types are outputs.py GetXResult
        sdk = find(name[0].upper() + name[1:] + "Result", ("outputs.py",))
    else:
        sdk = find(name, ("outputs.py",))
        sdk = sdk if sdk is not None else find(name + "Args", ("_inputs.py",))
    compare(f"type {name}", t.get("properties", {}), sdk)
for p in problems:
    print(f"  {p}", file=sys.stderr)
print(f"{len(spec['resources'])} resources, {len(spec['types'])} types compared with the SDK: "
      f"{len(problems)} difference(s)", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

build_github_rebridge() { # WORK VERSION OUT
  local work="$1" version="$2" out="$3" src="$1/rebridge" d sdk
  mkdir -p "$src"
  write_github_rebridge_sources "$src"
  (
    cd "$src"
    go mod init local/maya-github-provider >/dev/null 2>&1
    go mod edit -replace="$TF_SDK_FORK" -replace="$TF_EXEC_PIN"
    # Seed go.sum with the checksums the upstream and the bridge recorded: the checksum database has no
    # entry for some of their dependencies (github.com/bored-engineer/github-conditional-http-transport).
    for m in "$GH_UPSTREAM_MOD@$GH_UPSTREAM_VERSION" "github.com/pulumi/pulumi-terraform-bridge/v3@$GH_BRIDGE_VERSION"; do
      d="$(module_dir "$m")" || exit 1
      cat "$d/go.sum" >>go.sum
    done
    sort -u -o go.sum go.sum
    go get "$GH_UPSTREAM_MOD@$GH_UPSTREAM_VERSION" \
      "github.com/pulumi/pulumi-terraform-bridge/v3@$GH_BRIDGE_VERSION" >&2
    go mod tidy >&2
    ldflags="-s -w -X local/maya-github-provider/ghinfo.Version=$version"
    go build -trimpath -ldflags "$ldflags" -o "$work/schema-dump" ./cmd/schema-dump >&2
    "$work/schema-dump" >cmd/pulumi-resource-github/schema.json
    sdk="$(sdk_dir pulumi_github)"
    if [[ -n "$sdk" ]]; then
      check_schema_against_sdk cmd/pulumi-resource-github/schema.json "$sdk" ||
        { log "the rebridged github schema does not match the pulumi_github SDK in $sdk"; exit 1; }
    else
      log "warning: no pulumi_github SDK in ./venv: the rebridged schema was not checked against it"
    fi
    go build -trimpath -ldflags "$ldflags" -o "$out/pulumi-resource-github" ./cmd/pulumi-resource-github >&2
    cp cmd/pulumi-resource-github/schema.json "$out/schema.json"
  )
}

provide_github() {
  local version mode hash dest work start variant bin
  version="$(sdk_version pulumi_github pulumi-github)" || return 1
  mode="${MAYA_GITHUB_PROVIDER:-auto}"
  case "$mode" in auto | official | rebridge) ;; *) log "MAYA_GITHUB_PROVIDER must be auto, official or rebridge"; return 1 ;; esac
  hash="$(
    { declare -f build_github_official write_github_rebridge_sources check_schema_against_sdk build_github_rebridge
      echo "$GH_PROVIDER_REF $GH_UPSTREAM_VERSION $GH_BRIDGE_VERSION $TF_SDK_FORK $TF_EXEC_PIN CGO_ENABLED=0 -trimpath"
    } | sha256sum | cut -c1-12
  )"
  dest="$cache_root/plugins-github-$version"
  if bin="$(cached "$dest" "$hash" github)"; then
    variant="$(cut -d' ' -f2 "$dest/.complete")"
    if [[ "$mode" == auto || "$mode" == "$variant" ]]; then
      log "cached github $version ($variant) at $bin"
      printf 'github\t%s\t%s\n' "$version" "$bin"
      return 0
    fi
  fi
  log "building pulumi-resource-github $version (first time only; takes a few minutes)"
  start=$SECONDS
  mkdir -p "$cache_root"
  work="$(mktemp -d "$cache_root/.build-github.XXXXXX")"
  work_dirs+=("$work")
  mkdir -p "$work/out"
  variant=""
  if [[ "$mode" != rebridge ]]; then
    if build_github_official "$work" "$version" "$work/out"; then
      variant=official
    elif [[ "$mode" == official ]]; then
      log "cannot build the official github provider (see above)"
      return 1
    else
      log "falling back to a rebridge of $GH_UPSTREAM_MOD $GH_UPSTREAM_VERSION (not the released binary)"
    fi
  fi
  if [[ -z "$variant" ]]; then
    build_github_rebridge "$work" "$version" "$work/out" || { log "the github rebridge failed (see above)"; return 1; }
    variant=rebridge
  fi
  bin="$(finish "$work/out" "$dest" github "$hash" "$variant" "$start")" || return 1
  printf 'github\t%s\t%s\n' "$version" "$bin"
}

# ------------------------------------------------------------------------------------------------ vercel

provide_vercel() {
  local version hash dest bin ref dir work start m
  version="$(sdk_version pulumiverse_vercel pulumiverse-vercel)" || return 1
  ref="${MAYA_VERCEL_PROVIDER_REF:-}"
  hash="$(echo "$VERCEL_PROVIDER_MOD@$ref CGO_ENABLED=0 -trimpath" | sha256sum | cut -c1-12)"
  dest="$cache_root/plugins-vercel-$version"
  if bin="$(cached "$dest" "$hash" vercel)"; then
    log "cached vercel $version at $bin"
    printf 'vercel\t%s\t%s\n' "$version" "$bin"
    return 0
  fi
  if [[ -z "$ref" ]]; then
    # provider/v5 has no tags of its own: only a commit (pseudo-version) names the v$version release.
    if ! go list -m -versions "$VERCEL_PROVIDER_MOD" >/dev/null 2>&1; then
      log "the Go module proxy does not serve $VERCEL_PROVIDER_MOD at all:" \
        "$(go list -m -versions "$VERCEL_PROVIDER_MOD" 2>&1 | tail -n1 | sed 's/^[[:space:]]*//')"
      for m in $VERCEL_UPSTREAM_MODS; do
        go list -m -versions "$m" >/dev/null 2>&1 && continue
        log "nor the upstream $m (so no rebridge is possible either)"
      done
      log "cannot build pulumi-resource-vercel $version here"
      return 1
    fi
    log "set MAYA_VERCEL_PROVIDER_REF to the commit of pulumiverse/pulumi-vercel release v$version"
    return 1
  fi
  dir="$(module_dir "$VERCEL_PROVIDER_MOD@$ref")" || { log "cannot build pulumi-resource-vercel $version here"; return 1; }
  log "building pulumi-resource-vercel $version from $VERCEL_PROVIDER_MOD@$ref"
  start=$SECONDS
  mkdir -p "$cache_root"
  work="$(mktemp -d "$cache_root/.build-vercel.XXXXXX")"
  work_dirs+=("$work")
  mkdir -p "$work/out"
  cp -r "$dir" "$work/provider" && chmod -R u+w "$work/provider"
  # schema.json and bridge-metadata.json are committed, so the module builds as it is (with its replaces).
  (cd "$work/provider" && go build -trimpath \
    -ldflags "-s -w -X $VERCEL_PROVIDER_MOD/pkg/version.Version=$version" \
    -o "$work/out/pulumi-resource-vercel" ./cmd/pulumi-resource-vercel >&2) || return 1
  bin="$(finish "$work/out" "$dest" vercel "$hash" official "$start")" || return 1
  printf 'vercel\t%s\t%s\n' "$version" "$bin"
}

# -------------------------------------------------------------------------------------------------- main

command -v go >/dev/null 2>&1 || { log "go is not on PATH: install Go >= 1.26"; exit 2; }
command -v jq >/dev/null 2>&1 || { log "jq is not on PATH (apt-get install jq)"; exit 2; }
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
mkdir -p "$cache_root"
cd "$cache_root" # outside any Go module: `go mod download M@V` must not touch a go.mod
work_dirs=()     # temp build folders (next to their destination, so the final rename is atomic)
trap 'rm -rf "${work_dirs[@]}"' EXIT

plugins=("$@")
[[ ${#plugins[@]} -gt 0 ]] || plugins=(github vercel)
status=0
for p in "${plugins[@]}"; do
  case "$p" in
    github) provide_github || { log "github: not provided"; status=3; } ;;
    vercel) provide_vercel || { log "vercel: not provided"; status=3; } ;;
    *) log "unknown plugin '$p' (github, vercel)"; status=2 ;;
  esac
done
exit "$status"
