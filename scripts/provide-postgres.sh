#!/usr/bin/env bash
# Prints the folder holding PostgreSQL's server binaries (initdb, pg_ctl, postgres), installing Debian's
# `postgresql` package first when it is missing (CI and fresh machines start bare). The real-engine tests
# of the PostgreSQL state backend (tests/engine/test_state_backend.py) and `scripts/rehearse.sh --backend
# postgres` start their own throwaway server from these binaries on 127.0.0.1; nothing is left running.
set -euo pipefail

find_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      echo "$dir"
      return 0
    fi
  done
  return 1
}

if bin="$(find_bin)"; then
  echo "$bin"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]]; then
  echo "provide-postgres: PostgreSQL is not installed and this user cannot install it;" >&2
  echo "  run: sudo apt-get update && sudo apt-get install -y postgresql" >&2
  exit 1
fi
echo "provide-postgres: installing Debian's postgresql package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
apt-get install -y --no-install-recommends postgresql >&2
# the package starts a cluster of its own; the tests never use it
if command -v pg_lsclusters >/dev/null; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _; do
    pg_ctlcluster "$version" "$cluster" stop >&2 || true
  done
fi
find_bin || { echo "provide-postgres: installed, but no initdb under /usr/lib/postgresql/*/bin" >&2; exit 1; }
