#!/usr/bin/env bash
# Makes this machine ready for Wharf's tests, idempotently:
#   - redis-server and rrdtool (the round-robin reference) from Debian's
#     packages (needs root and apt-get),
#   - the MinIO server, nsqd and nsqlookupd built from the Go module proxy in the
#     tools modules under infra/tools/, cached in .bin/cache/ keyed by their pinned
#     versions, with stable links in .bin/ (a second run takes seconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.bin"
mkdir -p "$bin/cache"

log() { printf 'deps: %s\n' "$*"; }

# --- Redis -----------------------------------------------------------------
if command -v redis-server >/dev/null 2>&1; then
  log "redis-server: $(redis-server --version | awk '{print $3}')"
else
  if [ "$(id -u)" != 0 ]; then
    echo "deps: redis-server is missing and this is not root: run 'sudo apt-get install -y redis-server' and retry" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: redis-server is missing and apt-get is not available: install Redis 7 with your package manager" >&2
    exit 1
  fi
  log "installing redis-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  # The package starts a system-wide instance on :6379; the tests start their own.
  log "redis-server: $(redis-server --version | awk '{print $3}')"
fi

# --- rrdtool (reference for monitoring/rrd's side-by-side test) ---------------
if command -v rrdtool >/dev/null 2>&1; then
  log "rrdtool: $(rrdtool --version | awk 'NR==1{print $2}')"
else
  if [ "$(id -u)" != 0 ]; then
    echo "deps: rrdtool is missing and this is not root: run 'sudo apt-get install -y rrdtool' and retry" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: rrdtool is missing and apt-get is not available: install rrdtool 1.7 with your package manager" >&2
    exit 1
  fi
  log "installing rrdtool from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq rrdtool >/dev/null
  log "rrdtool: $(rrdtool --version | awk 'NR==1{print $2}')"
fi

# --- Go-built tools ----------------------------------------------------------
# version MODDIR MODULE prints the version a tools module pins for MODULE.
version() { (cd "$root/infra/tools/$1" && go list -m -f '{{.Version}}' "$2"); }

# build MODDIR NAME PKG VERSION builds PKG into .bin/cache/NAME-VERSION and links .bin/NAME to it.
build() {
  local moddir=$1 name=$2 pkg=$3 ver=$4
  local target="$bin/cache/$name-$ver"
  if [ ! -x "$target" ]; then
    log "building $name $ver (first time only)"
    local start=$SECONDS
    (cd "$root/infra/tools/$moddir" && CGO_ENABLED=0 go build -trimpath -o "$target.tmp" "$pkg")
    mv "$target.tmp" "$target"
    log "built $name in $((SECONDS - start))s"
  fi
  ln -sfn "cache/$name-$ver" "$bin/$name"
  log "$name: $ver"
}

minio_ver=$(version minio github.com/minio/minio)
nsq_ver=$(version nsq github.com/nsqio/nsq)
build minio minio github.com/minio/minio "$minio_ver"
build nsq nsqd github.com/nsqio/nsq/apps/nsqd "$nsq_ver"
build nsq nsqlookupd github.com/nsqio/nsq/apps/nsqlookupd "$nsq_ver"
