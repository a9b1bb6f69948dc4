#!/usr/bin/env bash
# Side-by-side benchmark of alert delivery: the same Prometheus-style alerts
# posted through Alertmanager's API v2 (POST /api/v2/alerts) to
#   am     Debian's prometheus-alertmanager as an HA pair on loopback (two
#          processes gossiping through --cluster.peer), posted to both peers
#          as Prometheus does,
#   wharf  Wharf on real Redis and nsqd: `wharf gateway` (the API) and two
#          `wharf notify` nodes sharing the work,
# each delivering to one webhook receiver (in the load generator) that
# answers 20 % of the calls 500. Per system: alerts/s accepted, webhook
# calls, duplicates and losses counted by the receiver per alert and status
# (firing, resolved), p99 from the post to the delivery. Interleaved rounds
# (order rotated every round), medians reported.
#
# Usage (from anywhere; see bench/alarms/README.md):
#   bench/alarms/run.sh
#   ROUNDS=5 RATE=200 OUT=/tmp/alarms.md bench/alarms/run.sh
#
# Environment (all optional):
#   ROUNDS=3            measured rounds per system
#   DURATION=20s        each round posts new firing alerts this long (<= 60s)
#   RATE=100            firing alerts posted per second
#   BATCH=10            alerts per POST
#   CONCURRENCY=8       POSTs in flight at most
#   HOLD=5s             an alert is resolved this long after it fired
#   FAIL=0.2            fraction of webhook calls answered 500
#   GROUP_BY=...        group_by of both routes ("..." = every alert alone)
#   GROUP_WAIT=1s       group_wait of both
#   GROUP_INTERVAL=2s   group_interval of both
#   REPEAT_INTERVAL=1h  repeat_interval of both
#   DRAIN_TIMEOUT=60s   after a round's posts, how long to wait for every delivery
#   SETTLE=20s          then how long to wait for late (duplicate) deliveries;
#                       more than Alertmanager's --cluster.peer-timeout (15s)
#   SYSTEMS=am,wharf    which systems
#   OUT=                also write the report: *.json (the rounds) or markdown
#   KEEP=0              1: keep the temp dir (configs, logs)
#   WHARF_REF=          build wharf from this commit instead of the working tree
#
# Exit status: 0 when the benchmark ran (whatever the numbers), non-zero on a
# setup failure. All traffic stays on 127.0.0.1. Never part of `make test`.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20s}
RATE=${RATE:-100}
BATCH=${BATCH:-10}
CONCURRENCY=${CONCURRENCY:-8}
HOLD=${HOLD:-5s}
FAIL=${FAIL:-0.2}
GROUP_BY=${GROUP_BY:-...}
GROUP_WAIT=${GROUP_WAIT:-1s}
GROUP_INTERVAL=${GROUP_INTERVAL:-2s}
REPEAT_INTERVAL=${REPEAT_INTERVAL:-1h}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-60s}
SETTLE=${SETTLE:-20s}
SYSTEMS=${SYSTEMS:-am,wharf}
OUT=${OUT:-}
KEEP=${KEEP:-0}
WHARF_REF=${WHARF_REF:-}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---------------------------------------------------------------- helpers --

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

TMP=""
PIDS=()  # every background process this script started, stopped on exit
NAMES=() # their names, for messages

# die prints a setup failure and the tail of every server log, and exits 1.
die() {
  printf '\nSETUP FAILED: %s\n' "$*" >&2
  if [[ -n $TMP && -d $TMP/logs ]]; then
    local f
    for f in "$TMP"/logs/*.log; do
      [[ -s $f ]] || continue
      printf -- '--- last lines of %s ---\n' "${f##*/}" >&2
      # (wharf's first start prints an admin token: redact it)
      tail -n 15 "$f" | sed -E 's/wharf_[0-9a-f]{16}_[0-9a-f]+/<token>/g' >&2
    done
  fi
  exit 1
}

# cleanup stops what we started (TERM, then KILL after 20 s), in reverse
# start order, and removes $TMP.
cleanup() {
  local rc=$? i pid child n
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]}
    kill -TERM "$pid" 2>/dev/null || true # timeout passes it on to the server
    n=0
    while kill -0 "$pid" 2>/dev/null && ((n < 200)); do
      sleep 0.1
      n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "${NAMES[$i]} (pid $pid) did not stop within 20 s of SIGTERM; killing it"
      for child in $(pgrep -P "$pid"); do
        kill -KILL "$child" 2>/dev/null || true
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ $KEEP == 1 ]]; then
      say "kept $TMP (configs, logs)"
    else
      rm -rf "$TMP"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

has_system() { [[ ",$SYSTEMS," == *",$1,"* ]]; }

# seconds converts "10s", "2m" or "10" to whole seconds.
seconds() {
  case $1 in
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

# start NAME CMD... runs CMD in the background, killed by `timeout` after
# $BUDGET s even if this script is SIGKILLed, logging to $TMP/logs/NAME.log.
start() {
  local name=$1
  shift
  timeout --kill-after=20 "$BUDGET" "$@" >"$TMP/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
}

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

# http_code URL prints the status of a GET (000 when nothing answered).
http_code() { curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true; }

# wait_status NAME URL CODE SECONDS polls URL until it answers CODE; fails
# early when NAME has exited.
wait_status() {
  local name=$1 url=$2 want=$3 limit=$4 code="000" i
  for ((i = 0; i < limit * 10; i++)); do
    code=$(http_code "$url")
    if [[ $code == "$want" ]]; then
      return 0
    fi
    alive "$name" || break
    sleep 0.1
  done
  echo "$code"
  return 1
}

# ------------------------------------------------------------ preflight --

for v in DURATION HOLD DRAIN_TIMEOUT SETTLE; do
  [[ ${!v} =~ ^[1-9][0-9]*s$ ]] || die "$v must be whole seconds like 20s, got '${!v}'"
done
for v in GROUP_WAIT GROUP_INTERVAL REPEAT_INTERVAL; do
  [[ ${!v} =~ ^[1-9][0-9]*(ms|s|m|h)$ ]] || die "$v must look like 1s, 500ms, 5m or 1h, got '${!v}'"
done
for v in ROUNDS RATE BATCH CONCURRENCY KEEP; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[[ $FAIL =~ ^0(\.[0-9]+)?$ ]] || die "FAIL must be a fraction below 1 like 0.2, got '$FAIL'"
[[ $GROUP_BY =~ ^(\.\.\.|[a-zA-Z_][a-zA-Z0-9_]*(,[a-zA-Z_][a-zA-Z0-9_]*)*)$ ]] ||
  die "GROUP_BY must be ... or label names separated by commas, got '$GROUP_BY'"
((ROUNDS >= 1 && RATE >= 1 && BATCH >= 1 && CONCURRENCY >= 1)) || die "need ROUNDS, RATE, BATCH and CONCURRENCY >= 1"
for s in ${SYSTEMS//,/ }; do
  [[ $s =~ ^(am|wharf)$ ]] || die "unknown system '$s' in SYSTEMS (want am, wharf)"
done
DUR_S=$(seconds "$DURATION")
((DUR_S <= 60)) || die "DURATION must be at most 60s (each round is bounded), got $DURATION"
HOLD_S=$(seconds "$HOLD")
DRAIN_S=$(seconds "$DRAIN_TIMEOUT")
SETTLE_S=$(seconds "$SETTLE")
NSYS=$(tr ',' '\n' <<<"$SYSTEMS" | grep -c .)
# Hard bound on the whole run: every round with its drain and settle, plus
# set-up. Servers run under `timeout $BUDGET`, the load generator under less.
ROUND_S=$((DUR_S + HOLD_S + DRAIN_S + SETTLE_S + 30))
LOAD_BUDGET=$((NSYS * ROUNDS * ROUND_S + 60))
BUDGET=$((LOAD_BUDGET + 300))

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
if has_system am && ! command -v prometheus-alertmanager >/dev/null 2>&1; then missing+=(prometheus-alertmanager); fi
if has_system wharf && ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
command -v go >/dev/null 2>&1 || die "go is not in PATH (needed to build wharf and the load generator)"
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    # policy-rc.d permitting, the packages start system services on their
    # default ports; this script never uses or stops them.
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
      die "apt-get could not install ${missing[*]}"
  else
    die "missing ${missing[*]}; install them first: sudo apt-get install -y ${missing[*]}"
  fi
fi
NSQD=""
if has_system wharf; then
  for c in "${WHARF_BIN_DIR:-}/nsqd" "$REPO/.bin/nsqd" "$(command -v nsqd 2>/dev/null || true)"; do
    if [[ -n $c && -x $c ]]; then
      NSQD=$c
      break
    fi
  done
  [[ -n $NSQD ]] || die "no nsqd: run 'make deps' (it puts one in .bin/) or set WHARF_BIN_DIR"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wharf-alarms-bench.XXXXXX")
mkdir -p "$TMP"/{bin,logs,am1,am2,nsqd,redis,gw,n1,n2}

# ---------------------------------------------------------------- build --

if [[ -n $WHARF_REF ]]; then
  COMMIT=$(git -C "$REPO" rev-parse --short "$WHARF_REF") || die "unknown WHARF_REF=$WHARF_REF"
else
  COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || COMMIT+="+dirty"
fi
say "building the load generator and benchutil"
(cd "$REPO" && go build -o "$TMP/bin/loadgen" ./bench/alarms/loadgen) || die "cannot build bench/alarms/loadgen"
(cd "$REPO" && go build -o "$TMP/bin/benchutil" ./bench/gateway/benchutil) || die "cannot build bench/gateway/benchutil"
if has_system wharf; then
  WHARF_SRC=$REPO
  if [[ -n $WHARF_REF ]]; then
    WHARF_SRC=$TMP/src
    mkdir -p "$WHARF_SRC"
    git -C "$REPO" archive "$WHARF_REF" | tar -x -C "$WHARF_SRC" || die "cannot export WHARF_REF=$WHARF_REF"
  fi
  say "building wharf (go build ./cmd/wharf at $COMMIT)"
  (cd "$WHARF_SRC" && go build -o "$TMP/bin/wharf" ./cmd/wharf) || die "cannot build ./cmd/wharf"
fi

mapfile -t PORTS < <("$TMP/bin/benchutil" freeports -n 12)
((${#PORTS[@]} == 12)) || die "cannot find free loopback ports"
HOOK_PORT=${PORTS[0]}
AM1_WEB=${PORTS[1]} AM1_CL=${PORTS[2]} AM2_WEB=${PORTS[3]} AM2_CL=${PORTS[4]}
REDIS_PORT=${PORTS[5]} NSQ_TCP=${PORTS[6]} NSQ_HTTP=${PORTS[7]}
GW_PORT=${PORTS[8]} GW_INT=${PORTS[9]} N1_INT=${PORTS[10]} N2_INT=${PORTS[11]}
HOOK="http://127.0.0.1:$HOOK_PORT/hook"

# ------------------------------------------------------------------- am --

if has_system am; then
  if [[ $GROUP_BY == "..." ]]; then GB="['...']"; else GB="[${GROUP_BY}]"; fi
  cat >"$TMP/alertmanager.yml" <<EOF
# Generated by bench/alarms/run.sh.
route:
  receiver: bench
  group_by: $GB
  group_wait: $GROUP_WAIT
  group_interval: $GROUP_INTERVAL
  repeat_interval: $REPEAT_INTERVAL
receivers:
  - name: bench
    webhook_configs:
      - url: $HOOK/am
        send_resolved: true
EOF
  say "starting an Alertmanager HA pair on 127.0.0.1:$AM1_WEB and 127.0.0.1:$AM2_WEB (gossip on $AM1_CL, $AM2_CL)"
  start am1 prometheus-alertmanager --config.file="$TMP/alertmanager.yml" --storage.path="$TMP/am1" \
    --web.listen-address="127.0.0.1:$AM1_WEB" --cluster.listen-address="127.0.0.1:$AM1_CL" \
    --cluster.advertise-address="127.0.0.1:$AM1_CL" --cluster.peer="127.0.0.1:$AM2_CL" --log.level=warn
  start am2 prometheus-alertmanager --config.file="$TMP/alertmanager.yml" --storage.path="$TMP/am2" \
    --web.listen-address="127.0.0.1:$AM2_WEB" --cluster.listen-address="127.0.0.1:$AM2_CL" \
    --cluster.advertise-address="127.0.0.1:$AM2_CL" --cluster.peer="127.0.0.1:$AM1_CL" --log.level=warn
  for n in 1 2; do
    port=AM${n}_WEB
    code=$(wait_status "am$n" "http://127.0.0.1:${!port}/-/ready" 200 60) ||
      die "alertmanager $n did not become ready within 60 s (/-/ready: $code)"
  done
  # Both peers must see each other before the first alert.
  peers=0
  for ((i = 0; i < 300; i++)); do
    peers=$(curl -sS --noproxy '*' --max-time 5 "http://127.0.0.1:$AM1_WEB/api/v2/status" 2>/dev/null |
      grep -o '"address":"[^"]*"' | sort -u | wc -l || true)
    ((peers >= 2)) && break
    sleep 0.1
  done
  ((peers >= 2)) || die "the Alertmanager peers did not join each other within 30 s"
  say "alertmanager pair ready ($(prometheus-alertmanager --version 2>&1 | head -n 1))"
fi

# ---------------------------------------------------------------- wharf --

if has_system wharf; then
  say "starting redis-server on 127.0.0.1:$REDIS_PORT and nsqd on 127.0.0.1:$NSQ_TCP"
  start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$TMP/redis"
  start nsqd "$NSQD" --tcp-address="127.0.0.1:$NSQ_TCP" --http-address="127.0.0.1:$NSQ_HTTP" \
    --data-path="$TMP/nsqd" --log-level=warn
  code=$(wait_status nsqd "http://127.0.0.1:$NSQ_HTTP/ping" 200 30) || die "nsqd did not answer /ping within 30 s ($code)"
  WENV=(env "WHARF_REDIS_ADDR=127.0.0.1:$REDIS_PORT" "WHARF_NSQ_NSQD=127.0.0.1:$NSQ_TCP" WHARF_LOG_LEVEL=warn)
  say "starting wharf gateway on 127.0.0.1:$GW_PORT and two wharf notify nodes"
  start wharf-gw "${WENV[@]}" "$TMP/bin/wharf" gateway --data-dir "$TMP/gw" \
    --gateway-listen "127.0.0.1:$GW_PORT" --internal-listen "127.0.0.1:$GW_INT"
  code=$(wait_status wharf-gw "http://127.0.0.1:$GW_INT/ready" 200 60) ||
    die "wharf gateway did not become ready within 60 s (/ready: $code)"
  for ((i = 0; i < 100; i++)); do
    [[ -s $TMP/gw/admin.token ]] && break
    sleep 0.1
  done
  [[ -s $TMP/gw/admin.token ]] || die "wharf gateway wrote no admin token to $TMP/gw/admin.token"
  start wharf-n1 "${WENV[@]}" "$TMP/bin/wharf" notify --data-dir "$TMP/n1" --internal-listen "127.0.0.1:$N1_INT"
  start wharf-n2 "${WENV[@]}" "$TMP/bin/wharf" notify --data-dir "$TMP/n2" --internal-listen "127.0.0.1:$N2_INT"
  for n in 1 2; do
    port=N${n}_INT
    code=$(wait_status "wharf-n$n" "http://127.0.0.1:${!port}/ready" 200 60) ||
      die "wharf notify $n did not become ready within 60 s (/ready: $code)"
  done
  "$TMP/bin/loadgen" setup -wharf "http://127.0.0.1:$GW_PORT" -token-file "$TMP/gw/admin.token" -hook "$HOOK/wharf" \
    -group-by "$GROUP_BY" -group-wait "$GROUP_WAIT" -group-interval "$GROUP_INTERVAL" -repeat-interval "$REPEAT_INTERVAL" ||
    die "cannot create Wharf's receiver and route"
  say "wharf ready: receiver 'bench' and the _global route tree written"
fi

# ----------------------------------------------------------------- load --

AM_VERSION=""
has_system am && AM_VERSION=", prometheus-alertmanager $(dpkg-query -W -f '${Version}' prometheus-alertmanager 2>/dev/null || echo '(version unknown)')"
HEADER="commit $COMMIT, $(nproc) CPUs, $(go version | awk '{print $3}')$AM_VERSION
$ROUNDS rounds x ${DUR_S}s per system (interleaved), $RATE alerts/s in POSTs of $BATCH ($CONCURRENCY in flight), each resolved ${HOLD_S}s after it fired; receiver fails $FAIL of calls with 500; group_by [$GROUP_BY], group_wait $GROUP_WAIT, group_interval $GROUP_INTERVAL, repeat_interval $REPEAT_INTERVAL; drain ${DRAIN_S}s, settle ${SETTLE_S}s"
ARGS=(-systems "$SYSTEMS" -hook-listen "127.0.0.1:$HOOK_PORT" -fail "$FAIL" -rounds "$ROUNDS" -rate "$RATE"
  -batch "$BATCH" -concurrency "$CONCURRENCY" -duration "$DURATION" -hold "$HOLD"
  -drain-timeout "$DRAIN_TIMEOUT" -settle "$SETTLE" -header "$HEADER")
has_system am && ARGS+=(-am "http://127.0.0.1:$AM1_WEB,http://127.0.0.1:$AM2_WEB")
has_system wharf && ARGS+=(-wharf "http://127.0.0.1:$GW_PORT" -token-file "$TMP/gw/admin.token")
[[ -n $OUT ]] && ARGS+=(-out "$OUT")
say "measuring: $ROUNDS rounds x $NSYS systems (at most ${LOAD_BUDGET}s)"
timeout --kill-after=5 "$LOAD_BUDGET" "$TMP/bin/loadgen" run "${ARGS[@]}" || die "the load generator failed"
for n in am1 am2 redis nsqd wharf-gw wharf-n1 wharf-n2; do
  if [[ " ${NAMES[*]} " == *" $n "* ]] && ! alive "$n"; then
    warn "$n exited during the run (see KEEP=1 logs)"
  fi
done
[[ -n $OUT ]] && say "wrote $OUT"
exit 0
