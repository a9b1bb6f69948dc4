#!/usr/bin/env bash
# Side-by-side benchmark: the same wrk load against
#   direct  the upstream itself (the ceiling),
#   nginx   Debian's nginx proxying to it with a 10,000-CIDR geo deny list,
#           a per-IP limit_req that never rejects, and upstream keep-alive,
#   wharf   `wharf serve` proxying to it with the same deny list, limit and route.
# Rounds are interleaved (direct/nginx/wharf, order rotated each round) and the
# median of each target is reported, because a 2-core shared machine is noisy.
#
# Usage (from anywhere; see bench/gateway/README.md):
#   bench/gateway/run.sh
#   DURATION=20s CONNS=128 ROUNDS=5 OUT=/tmp/gw.json bench/gateway/run.sh
#
# Environment (all optional):
#   DURATION=10s   wrk duration of each measured run (Ns or Nm)
#   WARMUP=3s      wrk duration of one unmeasured warm-up per target
#   CONNS=64       wrk connections        THREADS=2   wrk threads
#   ROUNDS=3       measured runs per target (median reported)
#   TARGETS=direct,nginx,wharf   which targets to set up and load; also
#                  nginx-tls, wharf-tls (keep-alive over HTTPS) and nginx-hs,
#                  wharf-hs (HTTPS with Connection: close: a full TLS handshake
#                  per request), all with the same certificate; and
#                  nginx-200 (nginx's `return 200`, after its deny list) and
#                  wharf-fn (an in-process function answer: GET
#                  /api/v1/whoami with the admin token, after the deny list)
#   TLS=0          1: TARGETS defaults to nginx-tls,wharf-tls,nginx-hs,wharf-hs
#   CIDRS=10000    deny-list size (CIDRS_V6=1000 of them IPv6; SEED=1)
#   PIN=0          1: wrk on CPU 0, upstream and proxies on CPU 1 (taskset)
#   OUT=           also write the result: *.json as JSON, anything else as markdown
#   KEEP=0         1: keep the temp dir (configs, logs, raw wrk output)
#   WHARF_REF=     build wharf from this commit (git archive) instead of the
#                  working tree, e.g. HEAD while others are mid-edit
#   PERREQ=0       1: instead of the rounds, measure each target once per
#                  request: CPU time of the server, the upstream and wrk
#                  (/proc), then system calls (strace -c -f, when installed)
#   WHARF_BIN=     use this prebuilt wharf binary instead of building one
#                  (e.g. to compare two builds run after run)
#   WHARF_PIPELINE=0  pipelined upstream connections per instance for wharf's
#                  service (the opt-in `pipeline:` setting; 0 = off, like nginx)
#   WHARF_PIPELINE_DELAY=50us   gateway.pipeline_batch_delay for wharf
#   WHARF_ROOMS=0  1: wharf's service runs with a room policy (its instance in
#                  room bj, weights bj=100 sh=0, failover priority bj, sh) and
#                  active health checks (GET / every second), so every request
#                  also picks its room (Gateway II's acceptance run)
#   WHARF_ENV=     extra environment for the wharf process, e.g. "GOGC=400"
#   WHARF_GOMAXPROCS=  GOMAXPROCS for the wharf process (default: Go's, the
#                  number of CPUs). On this 2-core box shared with wrk and the
#                  upstream, 1 avoids scheduler contention; the report says which.
#
# Exit status: 0 when the benchmark ran (whatever the numbers), non-zero on a
# setup failure (missing tools, build error, a server that does not start or
# does not forward the upstream's body). All traffic stays on 127.0.0.1.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
TLS=${TLS:-0}
if [[ $TLS == 1 ]]; then
  TARGETS=${TARGETS:-nginx-tls,wharf-tls,nginx-hs,wharf-hs}
else
  TARGETS=${TARGETS:-direct,nginx,wharf}
fi
CIDRS=${CIDRS:-10000}
CIDRS_V6=${CIDRS_V6:-1000}
SEED=${SEED:-1}
PIN=${PIN:-0}
OUT=${OUT:-}
KEEP=${KEEP:-0}
WHARF_REF=${WHARF_REF:-}
WHARF_BIN=${WHARF_BIN:-}
PERREQ=${PERREQ:-0}
WHARF_GOMAXPROCS=${WHARF_GOMAXPROCS:-}
WHARF_ENV=${WHARF_ENV:-}
WHARF_PIPELINE=${WHARF_PIPELINE:-0}
WHARF_PIPELINE_DELAY=${WHARF_PIPELINE_DELAY:-50us}
WHARF_ROOMS=${WHARF_ROOMS:-0}
FN_AUTH="" # the wharf-fn target's Authorization header (set once wharf runs)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---------------------------------------------------------------- helpers --

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

TMP=""
PIDS=()    # every background process this script started, killed on exit
NAMES=()   # their names, for messages
LOAD_PID="" # the wrk run in progress, if any

# die prints a setup failure, the tail of every server log, and exits 1
# (the EXIT trap then stops the servers and removes the temp dir).
die() {
  printf '\nSETUP FAILED: %s\n' "$*" >&2
  if [[ -n $TMP && -d $TMP/logs ]]; then
    local f
    for f in "$TMP"/logs/*.log; do
      [[ -s $f ]] || continue
      printf -- '--- last lines of %s ---\n' "${f##*/}" >&2
      # (the first start of wharf prints an admin token: redact it)
      tail -n 15 "$f" | sed -E 's/wharf_[0-9a-f]{16}_[0-9a-f]+/<admin token>/g' >&2
    done
  fi
  exit 1
}

# cleanup stops what we started (TERM, then KILL after 5 s) and removes $TMP.
cleanup() {
  local rc=$? i pid
  trap - EXIT INT TERM
  if [[ -n $LOAD_PID ]]; then
    kill -TERM "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  for i in "${!PIDS[@]}"; do
    pid=${PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for i in "${!PIDS[@]}"; do
    pid=${PIDS[$i]}
    local n=0
    while kill -0 "$pid" 2>/dev/null && ((n < 50)); do
      sleep 0.1
      n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "${NAMES[$i]} (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ $KEEP == 1 ]]; then
      say "kept $TMP (configs, logs, raw wrk output)"
    else
      rm -rf "$TMP"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

has_target() { [[ ",$TARGETS," == *",$1,"* ]]; }
# has_server NAME: some target needs the nginx or wharf server.
has_server() { has_target "$1" || has_target "$1-tls" || has_target "$1-hs" || has_target "$1-200" || has_target "$1-fn"; }
# has_tls: some target is loaded over HTTPS.
has_tls() { [[ ",$TARGETS," == *-tls,* || ",$TARGETS," == *-hs,* ]]; }

# seconds converts "10s", "2m" or "10" to whole seconds.
seconds() {
  case $1 in
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

# start NAME CMD... runs CMD in the background (pinned to the server CPU when
# PIN=1, and killed by `timeout` after $BUDGET seconds even if this script is
# killed with SIGKILL), logging to $TMP/logs/NAME.log.
start() {
  local name=$1
  shift
  timeout --kill-after=5 "$BUDGET" "${SRV_PIN[@]}" "$@" >"$TMP/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
}

# alive NAME fails when the background process NAME has exited.
alive() {
  local i
  for i in "${!NAMES[@]}"; do
    if [[ ${NAMES[$i]} == "$1" ]]; then
      kill -0 "${PIDS[$i]}" 2>/dev/null
      return
    fi
  done
  return 1
}

# http_get URL FILE prints the status code and writes the body to FILE
# ("000" when nothing answered). Loopback only, 5 s bound; an HTTPS URL on
# 127.0.0.1 is fetched as bench.test (SNI) and checked against the run's own
# certificate.
http_get() {
  local url=$1 tls=()
  if [[ $url =~ ^https://127\.0\.0\.1:([0-9]+)(/.*)?$ ]]; then
    tls=(--cacert "$TMP/tls/cert.pem" --resolve "bench.test:${BASH_REMATCH[1]}:127.0.0.1")
    url="https://bench.test:${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
  fi
  curl -sS --noproxy '*' --max-time 5 "${tls[@]}" -o "$2" -w '%{http_code}' "$url" 2>/dev/null || true
}

# wait_status NAME URL CODE SECONDS polls URL until it answers CODE; fails
# early when NAME has exited. Prints the last status seen.
wait_status() {
  local name=$1 url=$2 want=$3 limit=$4 code="000" i
  for ((i = 0; i < limit * 10; i++)); do
    code=$(http_get "$url" /dev/null)
    if [[ $code == "$want" ]]; then
      echo "$code"
      return 0
    fi
    alive "$name" || break
    sleep 0.1
  done
  echo "$code"
  return 1
}

# ------------------------------------------------------------ preflight --

[[ $DURATION =~ ^[1-9][0-9]*[sm]?$ ]] || die "DURATION must look like 10s or 1m, got '$DURATION'"
[[ $WARMUP =~ ^[0-9]+[sm]?$ ]] || die "WARMUP must look like 3s, got '$WARMUP'"
for v in CONNS THREADS ROUNDS CIDRS CIDRS_V6 SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((ROUNDS >= 1 && THREADS >= 1 && CONNS >= THREADS)) || die "need ROUNDS >= 1 and CONNS >= THREADS >= 1"
for t in ${TARGETS//,/ }; do
  [[ $t =~ ^(direct|nginx|wharf|nginx-tls|wharf-tls|nginx-hs|wharf-hs|nginx-200|wharf-fn)$ ]] ||
    die "unknown target '$t' in TARGETS (want direct, nginx, wharf, nginx-tls, wharf-tls, nginx-hs, wharf-hs, nginx-200, wharf-fn)"
done

DUR_S=$(seconds "$DURATION")
WARM_S=$(seconds "$WARMUP")
NTARGETS=$(tr ',' '\n' <<<"$TARGETS" | grep -c .)
# Hard bound on the whole run: every wrk run plus generous set-up time. Servers
# are started under `timeout $BUDGET`, so nothing outlives it.
BUDGET=$((NTARGETS * (ROUNDS * (DUR_S + 3) + WARM_S + 3) + 300))

# Install nginx and wrk from Debian when missing (root only); curl and taskset
# are needed too. Nothing is installed when everything is present.
missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || ! has_server nginx || missing+=(nginx)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v go >/dev/null 2>&1 || die "go is not in PATH (needed to build wharf and the upstream)"
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    # policy-rc.d permitting, Debian's postinst starts a system nginx on :80;
    # this script never uses or stops it.
    apt-get install -y -q "${missing[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
      die "apt-get could not install ${missing[*]}"
  else
    die "missing ${missing[*]}; install them first: sudo apt-get install -y ${missing[*]}"
  fi
fi
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

SRV_PIN=()
WRK_PIN=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null 2>&1 || die "PIN=1 needs taskset (util-linux)"
  (($(nproc) >= 2)) || die "PIN=1 needs at least 2 CPUs"
  WRK_PIN=(taskset -c 0)
  SRV_PIN=(taskset -c 1)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wharf-gw-bench.XXXXXX")
# nginx workers run as nobody when the master is root; they must reach $TMP.
chmod 0755 "$TMP"
mkdir -p "$TMP"/{bin,logs,results,nginx/logs,nginx/tmp}

# ---------------------------------------------------------------- build --

# What was built, for the report (recorded now: others may commit meanwhile).
if [[ -n $WHARF_REF ]]; then
  COMMIT=$(git -C "$REPO" rev-parse --short "$WHARF_REF") || die "unknown WHARF_REF=$WHARF_REF"
else
  COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || COMMIT+="+dirty" # uncommitted changes were built
fi

say "building the upstream and benchutil"
(cd "$REPO" && go build -o "$TMP/bin/upstream" ./bench/gateway/upstream) || die "cannot build bench/gateway/upstream"
(cd "$REPO" && go build -o "$TMP/bin/benchutil" ./bench/gateway/benchutil) || die "cannot build bench/gateway/benchutil"
if has_server wharf; then
  WHARF_SRC=$REPO
  if [[ -n $WHARF_REF ]]; then
    # Build a commit instead of the (possibly mid-edit) working tree: export it
    # with git archive into the temp dir; the repository is not touched.
    WHARF_SRC=$TMP/src
    mkdir -p "$WHARF_SRC"
    git -C "$REPO" archive "$WHARF_REF" | tar -x -C "$WHARF_SRC" || die "cannot export WHARF_REF=$WHARF_REF"
  fi
  if [[ -n $WHARF_BIN ]]; then
    [[ -x $WHARF_BIN ]] || die "WHARF_BIN=$WHARF_BIN is not an executable"
    cp "$WHARF_BIN" "$TMP/bin/wharf"
    COMMIT="prebuilt $WHARF_BIN"
  else
    say "building wharf (go build ./cmd/wharf at $COMMIT)"
    (cd "$WHARF_SRC" && go build -o "$TMP/bin/wharf" ./cmd/wharf) || die "cannot build ./cmd/wharf${WHARF_REF:+ at $WHARF_REF}"
  fi
fi

# ------------------------------------------------------------- upstream --

say "starting the upstream"
start upstream "$TMP/bin/upstream" -listen 127.0.0.1:0 -addr-file "$TMP/upstream.addr"
for ((i = 0; i < 100; i++)); do
  [[ -s $TMP/upstream.addr ]] && break
  alive upstream || die "the upstream exited at start"
  sleep 0.1
done
[[ -s $TMP/upstream.addr ]] || die "the upstream did not report its address within 10 s"
UP_ADDR=$(<"$TMP/upstream.addr")
code=$(http_get "http://$UP_ADDR/" "$TMP/expected.body")
[[ $code == 200 ]] || die "the upstream answered $code at http://$UP_ADDR/"
say "upstream on $UP_ADDR, body $(wc -c <"$TMP/expected.body") bytes"

# ------------------------------------------------------------ deny list --

say "generating the deny list: $CIDRS CIDRs ($CIDRS_V6 IPv6, seed $SEED)"
"$TMP/bin/benchutil" cidrs -n "$CIDRS" -v6 "$CIDRS_V6" -seed "$SEED" >"$TMP/deny.txt" || die "cannot generate the deny list"
[[ $(wc -l <"$TMP/deny.txt") -eq $CIDRS ]] || die "the deny list has $(wc -l <"$TMP/deny.txt") lines, want $CIDRS"

# Free loopback ports for nginx, the gateway, the internal listener, the
# embedded nsqd (tcp, http) and the HTTPS listeners of nginx and the gateway.
mapfile -t PORTS < <("$TMP/bin/benchutil" freeports -n 7)
((${#PORTS[@]} == 7)) || die "cannot find free loopback ports"
NGINX_PORT=${PORTS[0]} GW_PORT=${PORTS[1]} INT_PORT=${PORTS[2]} NSQ_TCP=${PORTS[3]} NSQ_HTTP=${PORTS[4]}
NGINX_TLS_PORT=${PORTS[5]} GW_TLS_PORT=${PORTS[6]}

# One certificate for both proxies' HTTPS listeners: self-signed ECDSA P-256
# for bench.test.
if has_tls; then
  mkdir -p "$TMP/tls"
  "$TMP/bin/benchutil" cert -dir "$TMP/tls" -name bench.test || die "cannot make the TLS certificate"
fi

# check_forwarding NAME URL: a proxied GET / must answer 200 with exactly the
# upstream's body; also record what headers the upstream received.
check_forwarding() {
  local name=$1 base=$2 code
  code=$(http_get "$base/" "$TMP/$name.body")
  [[ $code == 200 ]] || return 1
  cmp -s "$TMP/expected.body" "$TMP/$name.body" || die "$name answered 200 but not with the upstream's body (see $name.body)"
  http_get "$base/_bench/headers" "$TMP/$name.headers" >/dev/null
  say "$name sends upstream: $(awk -F: 'NR > 1 && NF > 1 { printf "%s%s", sep, $1; sep = ", " }' "$TMP/$name.headers")"
  local h
  for h in X-Forwarded-For X-Request-Id; do
    grep -qi "^$h:" "$TMP/$name.headers" || warn "$name did not send $h to the upstream (it does less work per request than the other proxy)"
  done
}

# ---------------------------------------------------------------- nginx --

if has_server nginx; then
  say "configuring nginx ($("$NGINX" -v 2>&1 | sed 's/.*: //')) in $TMP/nginx"
  # The deny list as geo entries; included inside the geo block below.
  awk '{ print $1 " 1;" }' "$TMP/deny.txt" >"$TMP/nginx/deny.geo"
  # Every path is under the prefix: Debian's compiled-in defaults
  # (/var/lib/nginx, /var/log/nginx, /run/nginx.pid) are all overridden.
  cat >"$TMP/nginx/nginx.conf" <<EOF
# Generated by bench/gateway/run.sh; prefix $TMP/nginx.
master_process on;
daemon off;                 # the script owns the master's pid
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;         # the gateway keeps no access log either
    server_tokens off;
    keepalive_timeout 90s;  # as the gateway's idle_timeout
    keepalive_requests 1000000;  # nginx's default (1000) would close wrk's
                                 # connections; the gateway has no such cap

    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;

    # ACL: $CIDRS CIDRs, none matching 127.0.0.0/8 or ::1.
    geo \$denied {
        default 0;
        include deny.geo;
    }

    # A per-IP limit high enough never to reject: the cost of the lookup and
    # the update is measured, not the rejections.
    limit_req_zone \$binary_remote_addr zone=per_ip:10m rate=1000000r/s;

    upstream up {
        server $UP_ADDR;
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:$NGINX_PORT;
        include proxy.inc;
    }
$(has_tls && printf '%s\n' \
    "" \
    "    # HTTPS with the gateway's certificate; nginx's default ciphers," \
    "    # TLS 1.2 and 1.3 like the gateway's defaults." \
    "    server {" \
    "        listen 127.0.0.1:$NGINX_TLS_PORT ssl;" \
    "        ssl_certificate $TMP/tls/cert.pem;" \
    "        ssl_certificate_key $TMP/tls/key.pem;" \
    "        ssl_protocols TLSv1.2 TLSv1.3;" \
    "        include proxy.inc;" \
    "    }")
}
EOF
  # What every server block does (plain and HTTPS), included in each.
  cat >"$TMP/nginx/proxy.inc" <<EOF
        if (\$denied) {
            return 403;
        }

        # The nginx-200 target: an answer nginx makes itself (after the deny
        # list), against the gateway's in-process function answer.
        location = /_bench/return200 {
            default_type application/json;
            return 200 '{"ok":true}';
        }

        location / {
            limit_req zone=per_ip burst=1000000 nodelay;
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # The headers the gateway sets on the upstream request, so both
            # proxies build the same request (see \$TMP/*.headers).
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_set_header X-Request-Id \$request_id;
            add_header X-Request-Id \$request_id;  # the gateway answers with one too
        }
EOF
  NGINX_ARGS=(-p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log")
  "$NGINX" -t "${NGINX_ARGS[@]}" >"$TMP/logs/nginx-t.log" 2>&1 || die "nginx -t rejected the config: $(cat "$TMP/logs/nginx-t.log")"
  # The deny list is really loaded: nginx -T prints every included entry.
  loaded=$("$NGINX" -T "${NGINX_ARGS[@]}" 2>/dev/null | grep -cE '^[0-9a-f:.]+/[0-9]+ 1;$' || true)
  [[ $loaded -eq $CIDRS ]] || die "nginx -T shows $loaded deny entries, want $CIDRS"
  say "nginx -t: ok, $loaded deny entries loaded"

  say "starting nginx on 127.0.0.1:$NGINX_PORT"
  start nginx "$NGINX" "${NGINX_ARGS[@]}"
  code=$(wait_status nginx "http://127.0.0.1:$NGINX_PORT/" 200 15) || die "nginx did not answer 200 (last: $code)"
  check_forwarding nginx "http://127.0.0.1:$NGINX_PORT" || die "nginx stopped forwarding"
  if has_tls; then
    check_forwarding nginx-tls "https://127.0.0.1:$NGINX_TLS_PORT" || die "nginx does not forward over HTTPS"
  fi
  say "nginx forwards the upstream's body"
fi

# ---------------------------------------------------------------- wharf --

if has_server wharf; then
  # Same features as nginx: deny list, a never-rejecting per-IP limit, one route.
  # Access log off like nginx's: set it explicitly when this build has the
  # option (0 is its default; log.level warn would also drop the info lines).
  ACCESS_LOG=""
  if "$TMP/bin/wharf" serve --help 2>&1 | grep -q -- '--gateway-access-log-every'; then
    ACCESS_LOG="  access_log_every: 0"
  fi
  TLS_YAML=""
  if has_tls; then
    TLS_YAML="  tls:
    listen: \"127.0.0.1:$GW_TLS_PORT\"
    cert_files: [\"$TMP/tls/cert.pem\"]
    key_files: [\"$TMP/tls/key.pem\"]"
  fi
  {
    cat <<EOF
# Generated by bench/gateway/run.sh.
data_dir: $TMP/wharf-data
log: {format: text, level: warn}
internal: {listen: "127.0.0.1:$INT_PORT"}
nsq: {embedded_tcp: "127.0.0.1:$NSQ_TCP", embedded_http: "127.0.0.1:$NSQ_HTTP"}
gateway:
  listen: "127.0.0.1:$GW_PORT"
  idle_timeout: 90s
  pipeline_batch_delay: $WHARF_PIPELINE_DELAY
${ACCESS_LOG}
${TLS_YAML}
  acl:
    deny:
EOF
    awk '{ print "      - \"" $1 "\"" }' "$TMP/deny.txt"
    cat <<EOF
limits:
  - {name: per_ip, key: ip, rate: 1000000r/s, burst: 1000000, nodelay: true}
services:
  - name: up
    pipeline: $WHARF_PIPELINE
EOF
    if [[ $WHARF_ROOMS == 1 ]]; then
      cat <<EOF
    instances: [{addr: "$UP_ADDR", room: bj}]
    rooms: {weights: {bj: 100, sh: 0}, priority: [bj, sh]}
    health: {path: /, interval: 1s}
EOF
    else
      echo "    instances: [{addr: \"$UP_ADDR\"}]"
    fi
    cat <<EOF
routes:
  - {path: /, service: up, limits: [per_ip]}
EOF
  } >"$TMP/wharf.yaml"

  say "starting wharf serve on 127.0.0.1:$GW_PORT (internal 127.0.0.1:$INT_PORT)"
  WENV=()
  [[ -n $WHARF_GOMAXPROCS ]] && WENV+=("GOMAXPROCS=$WHARF_GOMAXPROCS")
  # shellcheck disable=SC2206 # WHARF_ENV is a list of NAME=value words
  [[ -n $WHARF_ENV ]] && WENV+=($WHARF_ENV)
  start wharf env "${WENV[@]}" "$TMP/bin/wharf" serve --config "$TMP/wharf.yaml"
  if ! code=$(wait_status wharf "http://127.0.0.1:$INT_PORT/ready" 200 60); then
    alive wharf && die "wharf did not become ready within 60 s (/ready: $code)"
    die "wharf serve exited at start (config rejected?): $(grep -v '^\s*$' "$TMP/logs/wharf.log" | tail -n 3)"
  fi
  # /ready can answer before the gateway's listener is up (the banner comes
  # after it): give the gateway itself a moment to answer.
  code=$(wait_status wharf "http://127.0.0.1:$GW_PORT/" 200 15) || true
  code=$(http_get "http://127.0.0.1:$GW_PORT/" "$TMP/wharf.body")
  case $code in
    200) check_forwarding wharf "http://127.0.0.1:$GW_PORT" || die "wharf stopped forwarding" ;;
    404) die "wharf started and is ready, but the gateway answers 404 for GET / with the services/routes config: it does not proxy routes to services yet (body: $(head -c 300 "$TMP/wharf.body"))" ;;
    *) die "wharf answered $code for GET / through the gateway, want 200 with the upstream's body (body: $(head -c 300 "$TMP/wharf.body"))" ;;
  esac
  if has_tls; then
    check_forwarding wharf-tls "https://127.0.0.1:$GW_TLS_PORT" || die "wharf does not forward over HTTPS"
  fi
  say "wharf forwards the upstream's body"
  if has_target wharf-fn; then
    # The in-process function answer: whoami with the admin token that the
    # first start wrote (never printed by this script).
    [[ -s $TMP/wharf-data/admin.token ]] || die "wharf wrote no admin token to $TMP/wharf-data/admin.token"
    FN_AUTH="Authorization: Bearer $(<"$TMP/wharf-data/admin.token")"
    code=$(curl -sS --noproxy '*' --max-time 5 -H "$FN_AUTH" -o "$TMP/wharf-fn.body" -w '%{http_code}' "http://127.0.0.1:$GW_PORT/api/v1/whoami" 2>/dev/null || true)
    [[ $code == 200 ]] || die "wharf answered $code for GET /api/v1/whoami with the admin token, want 200"
    say "wharf answers the function call"
  fi
fi

# ----------------------------------------------------------------- load --

declare -A URL=(
  [direct]="http://$UP_ADDR/"
  [nginx]="http://127.0.0.1:$NGINX_PORT/"
  [wharf]="http://127.0.0.1:$GW_PORT/"
  [nginx-tls]="https://127.0.0.1:$NGINX_TLS_PORT/"
  [wharf-tls]="https://127.0.0.1:$GW_TLS_PORT/"
  [nginx-hs]="https://127.0.0.1:$NGINX_TLS_PORT/"
  [wharf-hs]="https://127.0.0.1:$GW_TLS_PORT/"
  [nginx-200]="http://127.0.0.1:$NGINX_PORT/_bench/return200"
  [wharf-fn]="http://127.0.0.1:$GW_PORT/api/v1/whoami"
)
read -r -a ORDER <<<"${TARGETS//,/ }"

# load TARGET SECONDS FILE runs one bounded wrk and saves its report. wrk runs
# in the background so a SIGTERM to this script is handled at once (bash runs
# traps only between foreground commands, but `wait` is interruptible).
# The -hs targets send Connection: close: every request is a new TCP
# connection and a full TLS handshake (wrk does not resume sessions).
load() {
  local extra=()
  [[ $1 == *-hs ]] && extra=(-H "Connection: close")
  [[ $1 == wharf-fn ]] && extra=(-H "$FN_AUTH")
  timeout --kill-after=5 $(($2 + 30)) "${WRK_PIN[@]}" \
    wrk -t"$THREADS" -c"$CONNS" -d"$2s" --latency "${extra[@]}" "${URL[$1]}" >"$3" 2>&1 &
  LOAD_PID=$!
  wait "$LOAD_PID" || die "wrk against $1 failed: $(tail -n 3 "$3")"
  LOAD_PID=""
}

# parse FILE prints "rps p50_ms p99_ms non2xx socket_errors" from a wrk report.
parse() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/)  return v * 60000
      if (v ~ /s$/)  return v * 1000
      return v + 0
    }
    /^Requests\/sec:/            { rps = $2 }
    $1 == "50%"                  { p50 = ms($2) }
    $1 == "99%"                  { p99 = ms($2) }
    /Non-2xx or 3xx responses:/  { bad = $NF }
    /Socket errors:/             { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
    END { printf "%s %.3f %.3f %d %d\n", rps, p50, p99, bad, err }
  ' "$1"
}

# median prints the median of its arguments (mean of the middle two if even).
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# server_pids TARGET prints the pids of the processes that serve TARGET (the
# children of the `timeout` that start ran; nginx's workers under its master).
server_pids() {
  local name=${1%%-*} i
  [[ $name == direct ]] && name=upstream
  for i in "${!NAMES[@]}"; do
    [[ ${NAMES[$i]} == "$name" ]] || continue
    local top
    top=$(pgrep -P "${PIDS[$i]}" | head -n 1)
    [[ -n $top ]] || return 0
    if [[ $name == nginx ]]; then
      pgrep -P "$top" | tr '\n' ' '
    else
      echo "$top"
    fi
  done
}

# ticks PID... prints the CPU time (user + system, in clock ticks) of PIDs.
ticks() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}

# perreq TARGET measures one wrk run of TARGET per request: the CPU time of
# its server, the upstream and wrk, then, with strace, the system calls of
# its server in a second run (strace slows it down; the counts per request
# are what it is for).
perreq() {
  local t=$1 f="$TMP/results/$t.perreq.txt" hz srv up a b ua ub wt req rps
  hz=$(getconf CLK_TCK)
  read -r -a srv <<<"$(server_pids "$t")"
  read -r -a up <<<"$(server_pids direct)"
  ((${#srv[@]})) || die "cannot find the processes of $t"
  a=$(ticks "${srv[@]}") ua=$(ticks "${up[@]}")
  local TIMEFORMAT='%U %S'
  { time load "$t" "$DUR_S" "$f"; } 2>"$f.time"
  b=$(ticks "${srv[@]}") ub=$(ticks "${up[@]}")
  wt=$(awk '{ print $1 + $2 }' "$f.time")
  read -r rps _ < <(parse "$f")
  req=$(awk '/requests in/ { print $1 }' "$f")
  awk -v t="$t" -v rps="$rps" -v req="$req" -v s=$((b - a)) -v u=$((ub - ua)) -v w="$wt" -v hz="$hz" -v d="$t" 'BEGIN {
    printf "| %s | %.0f | %.2f | %s | %.2f |", t, rps, s * 1e6 / hz / req, (d == "direct" ? "—" : sprintf("%.2f", u * 1e6 / hz / req)), w * 1e6 / req }'
  if command -v strace >/dev/null 2>&1; then
    local sf="$TMP/results/$t.strace" pids
    pids=$(tr ' ' ',' <<<"${srv[*]}")
    timeout --kill-after=5 $((DUR_S + 30)) strace -c -f -p "$pids" -o "$sf" 2>/dev/null &
    local spid=$!
    sleep 1
    load "$t" "$DUR_S" "$f.strace"
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    req=$(awk '/requests in/ { print $1 }' "$f.strace")
    awk -v req="$req" '
      NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
        calls = $4; errs = (NF == 6) ? $5 : 0
        total += calls
        line[++n] = sprintf("%s %.2f%s", $NF, calls / req, errs > 0 ? sprintf(" (%.2f failed)", errs / req) : "")
      }
      END {
        printf " %.2f | ", total / req
        for (i = 1; i <= n && i <= 8; i++) printf "%s%s", (i > 1 ? ", " : ""), line[i]
        printf " |\n"
      }' "$sf"
  else
    printf ' — | strace not installed |\n'
  fi
}

if [[ $PERREQ == 1 ]]; then
  say "per request: one ${DUR_S}s run per target for CPU time, one under strace for system calls"
  printf '\n%s\n\n' "wrk -t$THREADS -c$CONNS -d$DURATION, PIN=$PIN, deny list $CIDRS CIDRs, wharf pipeline=$WHARF_PIPELINE, rooms+health=$WHARF_ROOMS"
  printf '| target | req/s | server CPU µs/req | upstream CPU µs/req | wrk CPU µs/req | system calls/req | the most frequent, per request |\n'
  printf '|---|---:|---:|---:|---:|---:|---|\n'
  for t in "${ORDER[@]}"; do
    ((WARM_S > 0)) && load "$t" "$WARM_S" "$TMP/results/$t.warmup.txt"
    perreq "$t"
  done
  exit 0
fi

say "warming up each target for ${WARM_S}s"
for t in "${ORDER[@]}"; do
  if ((WARM_S > 0)); then
    load "$t" "$WARM_S" "$TMP/results/$t.warmup.txt"
  fi
done

say "measuring: $ROUNDS rounds x ${#ORDER[@]} targets x ${DUR_S}s (wrk -t$THREADS -c$CONNS, PIN=$PIN)"
declare -A RPS=() P50=() P99=() BAD=()
for ((r = 1; r <= ROUNDS; r++)); do
  n=${#ORDER[@]}
  for ((k = 0; k < n; k++)); do
    t=${ORDER[$(((k + r - 1) % n))]} # rotate so no target always runs first
    f="$TMP/results/$t.$r.txt"
    load "$t" "$DUR_S" "$f"
    read -r rps p50 p99 bad err < <(parse "$f")
    [[ -n $rps ]] || die "cannot read wrk's report for $t (see $f)"
    RPS[$t]+="$rps " P50[$t]+="$p50 " P99[$t]+="$p99 "
    BAD[$t]=$((${BAD[$t]:-0} + bad + err))
    printf '    round %d  %-6s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms%s\n' "$r" "$t" "$rps" "$p50" "$p99" \
      "$( ((bad + err)) && echo "  ($bad non-2xx, $err socket errors)")" >&2
    sleep 1 # let the previous target's connections close
  done
done

# ---------------------------------------------------------------- report --

declare -A MRPS=() MP50=() MP99=()
for t in "${ORDER[@]}"; do
  read -r -a v <<<"${RPS[$t]}"
  MRPS[$t]=$(median "${v[@]}")
  read -r -a v <<<"${P50[$t]}"
  MP50[$t]=$(median "${v[@]}")
  read -r -a v <<<"${P99[$t]}"
  MP99[$t]=$(median "${v[@]}")
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

WRK_VERSION=$({ wrk -v 2>&1 || true; } | awk 'NR == 1 { print $2 }')
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/.*: //' || true)
ENVLINE="commit $COMMIT, $(nproc) CPUs, wrk $WRK_VERSION, $NGINX_VERSION, $(go version | awk '{print $3}')"
SETUP="wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS interleaved rounds, median; warm-up $WARMUP; PIN=$PIN; deny list $CIDRS CIDRs; wharf GOMAXPROCS=${WHARF_GOMAXPROCS:-default} env=${WHARF_ENV:-none}, wharf upstream pipeline=$WHARF_PIPELINE (batch delay $WHARF_PIPELINE_DELAY), rooms+health=$WHARF_ROOMS"

table() {
  printf '| target | req/s (median) | p50 ms | p99 ms | req/s per round | p99 ms per round | errors |\n'
  printf '|---|---:|---:|---:|---|---|---:|\n'
  for t in "${ORDER[@]}"; do
    read -r -a v <<<"${RPS[$t]}"
    printf '| %s | %.0f | %.3f | %.3f | %s | %s | %d |\n' "$t" "${MRPS[$t]}" "${MP50[$t]}" "${MP99[$t]}" \
      "$(printf '%.0f ' "${v[@]}" | sed 's/ $//')" "${P99[$t]% }" "${BAD[$t]}"
  done
  printf '\n'
  local sfx
  for sfx in "" -tls -hs; do
    if has_target "wharf$sfx" && has_target "nginx$sfx"; then
      printf -- '- wharf%s/nginx%s req/s: **%s**   p99: **%s**\n' "$sfx" "$sfx" \
        "$(ratio "${MRPS[wharf$sfx]}" "${MRPS[nginx$sfx]}")" "$(ratio "${MP99[wharf$sfx]}" "${MP99[nginx$sfx]}")"
    fi
  done
  if has_target wharf-fn && has_target nginx-200; then
    printf -- '- wharf-fn/nginx-200 req/s: **%s**   p99: **%s**\n' \
      "$(ratio "${MRPS[wharf-fn]}" "${MRPS[nginx-200]}")" "$(ratio "${MP99[wharf-fn]}" "${MP99[nginx-200]}")"
  fi
  if has_target direct; then
    has_target nginx && printf -- '- nginx/direct req/s: %s   nginx/direct p99: %s\n' "$(ratio "${MRPS[nginx]}" "${MRPS[direct]}")" "$(ratio "${MP99[nginx]}" "${MP99[direct]}")"
    has_target wharf && printf -- '- wharf/direct req/s: %s   wharf/direct p99: %s\n' "$(ratio "${MRPS[wharf]}" "${MRPS[direct]}")" "$(ratio "${MP99[wharf]}" "${MP99[direct]}")"
  fi
  return 0
}

json() {
  printf '{\n  "env": "%s",\n  "setup": "%s",\n  "targets": {' "$ENVLINE" "$SETUP"
  local sep=""
  for t in "${ORDER[@]}"; do
    printf '%s\n    "%s": {"rps": %s, "p50_ms": %s, "p99_ms": %s, "rps_runs": [%s], "p99_ms_runs": [%s], "errors": %d}' \
      "$sep" "$t" "${MRPS[$t]}" "${MP50[$t]}" "${MP99[$t]}" "$(tr ' ' '\n' <<<"${RPS[$t]% }" | paste -sd,)" \
      "$(tr ' ' '\n' <<<"${P99[$t]% }" | paste -sd,)" "${BAD[$t]}"
    sep=","
  done
  printf '\n  },\n  "ratios": {'
  sep=""
  pair() {
    has_target "$1" && has_target "$2" || return 0
    printf '%s\n    "%s/%s_rps": %s, "%s/%s_p99": %s' "$sep" "$1" "$2" "$(ratio "${MRPS[$1]}" "${MRPS[$2]}")" \
      "$1" "$2" "$(ratio "${MP99[$1]}" "${MP99[$2]}")"
    sep=","
  }
  pair wharf nginx
  pair wharf-tls nginx-tls
  pair wharf-hs nginx-hs
  pair wharf-fn nginx-200
  pair nginx direct
  pair wharf direct
  printf '\n  }\n}\n'
}

printf '\n%s\n%s\n\n' "$ENVLINE" "$SETUP"
table
for t in "${ORDER[@]}"; do
  ((BAD[$t] == 0)) || warn "$t had ${BAD[$t]} non-2xx responses or socket errors; its numbers are not comparable"
done

if [[ -n $OUT ]]; then
  case $OUT in
    *.json) json >"$OUT" ;;
    *) { printf '# Gateway side-by-side (bench/gateway/run.sh)\n\n%s\n\n%s\n\n' "$ENVLINE" "$SETUP"; table; } >"$OUT" ;;
  esac
  say "wrote $OUT"
fi
