#!/usr/bin/env bash
# Makes this machine ready for Wharf's tests, idempotently:
#   - redis-server, prometheus, rrdtool (the round-robin reference) and
#     amtool (prometheus-alertmanager, the alarm API's reference client) from
#     Debian's packages (needs root and apt-get),
#   - python3-scipy (the statistics reference) and nodejs + npm with
#     GrowthBook's JS SDK at a pinned version in .bin/cache/ (the A/B engine
#     reference), linked as .bin/growthbook-js, and the Node.js Apollo client
#     @lvgithub/ctrip-apollo-client (the config function's compatibility
#     reference), linked as .bin/apollo-js,
#   - the MinIO server, nsqd and nsqlookupd built from the Go module proxy in the
#     tools modules under infra/tools/, cached in .bin/cache/ keyed by their pinned
#     versions, with stable links in .bin/ (a second run takes seconds).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.bin"
mkdir -p "$bin/cache"

log() { printf 'deps: %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------
# apt_tool CMD PKG VERSION-CMD installs PKG (which provides CMD) unless CMD is on PATH.
apt_tool() {
  local cmd=$1 pkg=$2 vercmd=$3
  if command -v "$cmd" >/dev/null 2>&1; then
    log "$cmd: $(eval "$vercmd")"
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "deps: $cmd is missing and this is not root: run 'sudo apt-get install -y $pkg' and retry" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: $cmd is missing and apt-get is not available: install $pkg with your package manager" >&2
    exit 1
  fi
  log "installing $pkg from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  if [ "$pkg" = prometheus ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    # Its service listens on :9090, the default of wharf's internal listener.
    log "stopping the prometheus service the package started (it takes :9090, wharf's internal port)"
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  if [ "$pkg" = prometheus-alertmanager ] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus-alertmanager 2>/dev/null; then
    log "stopping the alertmanager service the package started (the tests start their own)"
    systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || true
  fi
  log "$cmd: $(eval "$vercmd")"
}

# apt_pkg PKG installs PKG from Debian's packages (needs root and apt-get).
apt_pkg() {
  local pkg=$1
  if [ "$(id -u)" != 0 ]; then
    echo "deps: $pkg is missing and this is not root: run 'sudo apt-get install -y $pkg' and retry" >&2
    exit 1
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: $pkg is missing and apt-get is not available: install $pkg with your package manager" >&2
    exit 1
  fi
  log "installing $pkg from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
}

# The packages may start system-wide instances (redis on :6379, prometheus on
# :9090); the tests start their own on random loopback ports.
apt_tool redis-server redis-server "redis-server --version | awk '{print \$3}'"
# prometheus: the metrics tests scrape a running wharf with it (issue 12).
apt_tool prometheus prometheus "prometheus --version 2>&1 | awk 'NR==1{print \$3}'"

# rrdtool: the reference of monitoring/rrd's side-by-side test (issue 13).
apt_tool rrdtool rrdtool "rrdtool --version | awk 'NR==1{print \$2}'"

# amtool (package prometheus-alertmanager): the alarm API's compatibility
# test drives a running wharf with it (issue 14).
apt_tool amtool prometheus-alertmanager "amtool --version 2>&1 | awk 'NR==1{print \$3}'"

# python3-scipy: the A/B statistics' side-by-side test (issue 16) runs scipy
# and numpy under Debian's python3 (not whatever python3 comes first on PATH).
if /usr/bin/python3 -c 'import scipy, numpy' >/dev/null 2>&1; then
  log "scipy: $(/usr/bin/python3 -c 'import scipy; print(scipy.__version__)')"
else
  apt_pkg python3-scipy
  log "scipy: $(/usr/bin/python3 -c 'import scipy; print(scipy.__version__)')"
fi

# nodejs, npm and GrowthBook's JS SDK: the A/B engine's side-by-side test
# (issue 16) runs the published SDK under node.
apt_tool node nodejs "node --version"
apt_tool npm npm "npm --version"
growthbook_js_ver=1.7.0
gbdir="$bin/cache/growthbook-js-$growthbook_js_ver"
if [ ! -f "$gbdir/node_modules/@growthbook/growthbook/package.json" ]; then
  log "installing @growthbook/growthbook $growthbook_js_ver from npm (first time only)"
  rm -rf "$gbdir.tmp"
  npm install --silent --no-audit --no-fund --no-save --prefix "$gbdir.tmp" "@growthbook/growthbook@$growthbook_js_ver" >/dev/null
  rm -rf "$gbdir"
  mv "$gbdir.tmp" "$gbdir"
fi
ln -sfn "cache/growthbook-js-$growthbook_js_ver" "$bin/growthbook-js"
log "@growthbook/growthbook: $growthbook_js_ver"

# An unmodified Apollo client (@lvgithub/ctrip-apollo-client, Node.js: the
# notifications/v2 long poll, access key signatures, a local backup file):
# the config function's Apollo compatibility test (issue 15) runs it under
# node against a real serve. It requires debug without declaring it, so
# debug is installed beside it, pinned too.
apollo_js_ver=1.0.38
apollo_debug_ver=4.4.3
apdir="$bin/cache/apollo-js-$apollo_js_ver"
if [ ! -f "$apdir/node_modules/@lvgithub/ctrip-apollo-client/package.json" ] || [ ! -f "$apdir/node_modules/debug/package.json" ]; then
  log "installing @lvgithub/ctrip-apollo-client $apollo_js_ver from npm (first time only)"
  rm -rf "$apdir.tmp"
  npm install --silent --no-audit --no-fund --no-save --prefix "$apdir.tmp" "@lvgithub/ctrip-apollo-client@$apollo_js_ver" "debug@$apollo_debug_ver" >/dev/null
  rm -rf "$apdir"
  mv "$apdir.tmp" "$apdir"
fi
ln -sfn "cache/apollo-js-$apollo_js_ver" "$bin/apollo-js"
log "@lvgithub/ctrip-apollo-client: $apollo_js_ver"

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
