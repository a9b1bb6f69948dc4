#!/usr/bin/env bash
# Side-by-side benchmark of metric ingest: the same points of SERIES series
#   wharf  pushed in Open-Falcon's format through `wharf serve`'s gateway
#          (POST /v1/push, ingest token) into its series stores and its judge,
#   vm     imported into VictoriaMetrics single-node (Debian's
#          victoria-metrics) through its JSON line import (/api/v1/import),
# in interleaved rounds (order rotated every round), medians reported, with
# Wharf's rate as a ratio to VictoriaMetrics' measured in the same run.
# For Wharf it also measures point arrival -> alarm event on the NSQ topic
# alarms (marker points, a strategy that fires on each, a consumer on serve's
# embedded nsqd).
#
# Usage (from anywhere; see bench/monitoring/README.md):
#   bench/monitoring/run.sh
#   SERIES=100000 DURATION=30s ROUNDS=5 OUT=/tmp/mon.md bench/monitoring/run.sh
#
# Environment (all optional):
#   SERIES=100000      distinct series (endpoint x metric x tags)
#   DURATION=60s       each measured load (at most 60s; shorter rounds can miss the
#                      per-minute application of points to the series files)
#   ROUNDS=3           measured rounds per target (median reported)
#   CONCURRENCY=8      requests in flight
#   BATCH=1000         points per request (a Falcon array / JSON lines)
#   TARGETS=wharf,vm   which targets to run
#   WARMUP=1           1: one unmeasured pass over every series per target
#                      first (creates the series; at most 60 s); 0: none
#   DRAIN_TIMEOUT=30s  after each load, how long to wait for the stores (and
#                      Wharf's judge) to take every accepted point (measured)
#   SETTLE_TIMEOUT=120s then how long to wait more, unmeasured, for a backlog
#                      to clear before the next round starts
#   RATE=0             pace each measured load to this many points/s (0: as
#                      fast as the target accepts); for latency at a rate the
#                      target sustains
#   MARKER_EVERY=100ms one marker point this often during Wharf's load (0: none)
#   JUDGE_LOAD=1       1: a never-firing strategy on the load series, so the
#                      judge evaluates every point; 0: only the marker strategy
#   PIN=0              1: loadgen on CPU 0, the servers on CPU 1 (taskset)
#   PROFILE=           a file: take a CPU profile of wharf (pprof on its
#                      internal listener) during its first measured round
#   OUT=               also write the report: *.json (the rounds) or markdown
#   KEEP=0             1: keep the temp dir (configs, logs, rounds.jsonl)
#   WHARF_REF=         build wharf from this commit instead of the working tree
#   WHARF_ENV=         extra environment for wharf, e.g. "GOGC=200"
#
# Exit status: 0 when the benchmark ran (whatever the numbers), non-zero on a
# setup failure. All traffic stays on 127.0.0.1. Never part of `make test`.
set -euo pipefail

SERIES=${SERIES:-100000}
DURATION=${DURATION:-60s}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-8}
BATCH=${BATCH:-1000}
TARGETS=${TARGETS:-wharf,vm}
WARMUP=${WARMUP:-1}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30s}
SETTLE_TIMEOUT=${SETTLE_TIMEOUT:-120s}
RATE=${RATE:-0}
MARKER_EVERY=${MARKER_EVERY:-100ms}
JUDGE_LOAD=${JUDGE_LOAD:-1}
PIN=${PIN:-0}
PROFILE=${PROFILE:-}
OUT=${OUT:-}
KEEP=${KEEP:-0}
WHARF_REF=${WHARF_REF:-}
WHARF_ENV=${WHARF_ENV:-}

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
      # (the first start of wharf prints an admin token: redact it)
      tail -n 15 "$f" | sed -E 's/wharf_[0-9a-f]{16}_[0-9a-f]+/<token>/g' >&2
    done
  fi
  exit 1
}

# cleanup stops what we started (TERM, then KILL after 60 s: wharf
# checkpoints every series it touched when it stops) and removes $TMP.
cleanup() {
  local rc=$? i pid child n
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true # timeout passes it on to the server
  done
  for i in "${!PIDS[@]}"; do
    pid=${PIDS[$i]}
    n=0
    while kill -0 "$pid" 2>/dev/null && ((n < 600)); do
      sleep 0.1
      n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "${NAMES[$i]} (pid $pid) did not stop within 60 s of SIGTERM; killing it"
      # The server first: a SIGKILLed timeout would leave it running.
      for child in $(pgrep -P "$pid"); do
        kill -KILL "$child" 2>/dev/null || true
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $TMP && -d $TMP ]]; then
    if [[ $KEEP == 1 ]]; then
      say "kept $TMP (configs, logs, rounds.jsonl)"
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

# seconds converts "10s", "2m", "100ms" (rounded up) or "10" to whole seconds.
seconds() {
  case $1 in
    *ms) echo $(((${1%ms} + 999) / 1000)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

# start NAME CMD... runs CMD in the background (pinned when PIN=1, killed by
# `timeout` after $BUDGET s even if this script is SIGKILLed), logging to
# $TMP/logs/NAME.log. A SIGTERM to timeout reaches the server, and 60 s
# later a SIGKILL (wharf's stop checkpoint fsyncs every series file touched
# in the last minute: 100,000 of them take tens of seconds).
start() {
  local name=$1
  shift
  timeout --kill-after=60 "$BUDGET" "${SRV_PIN[@]}" "$@" >"$TMP/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
}

# pid_of NAME prints the pid of the server itself (the child of its timeout).
pid_of() {
  local i p
  for i in "${!NAMES[@]}"; do
    if [[ ${NAMES[$i]} == "$1" ]]; then
      p=${PIDS[$i]}
      # timeout forks the command; with PIN, taskset execs it.
      pgrep -P "$p" | head -n 1
      return
    fi
  done
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

[[ $DURATION =~ ^[1-9][0-9]*s?$ ]] || die "DURATION must be whole seconds like 20s, got '$DURATION'"
[[ $DRAIN_TIMEOUT =~ ^[0-9]+s$ ]] || die "DRAIN_TIMEOUT must look like 30s, got '$DRAIN_TIMEOUT'"
[[ $SETTLE_TIMEOUT =~ ^[0-9]+s$ ]] || die "SETTLE_TIMEOUT must look like 120s, got '$SETTLE_TIMEOUT'"
[[ $MARKER_EVERY =~ ^[0-9]+(ms|s)$ ]] || die "MARKER_EVERY must look like 100ms, got '$MARKER_EVERY'"
for v in SERIES ROUNDS CONCURRENCY BATCH WARMUP JUDGE_LOAD PIN RATE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
((SERIES >= 10 && ROUNDS >= 1 && CONCURRENCY >= 1 && BATCH >= 1)) || die "need SERIES >= 10, ROUNDS, CONCURRENCY and BATCH >= 1"
# A Wharf push holds at most 100,000 items and 4 MiB (about 150 bytes each).
((BATCH <= 20000)) || die "BATCH must be at most 20000 (a push is at most 4 MiB), got $BATCH"
for t in ${TARGETS//,/ }; do
  [[ $t =~ ^(wharf|vm)$ ]] || die "unknown target '$t' in TARGETS (want wharf, vm)"
done
DUR_S=$(seconds "$DURATION")
((DUR_S <= 60)) || die "DURATION must be at most 60s (each round is bounded), got $DURATION"
DRAIN_S=$(seconds "$DRAIN_TIMEOUT")
SETTLE_S=$(seconds "$SETTLE_TIMEOUT")
NTARGETS=$(tr ',' '\n' <<<"$TARGETS" | grep -c .)
# Hard bound on the whole run: every round with its drain and marker wait,
# the warm-ups, and set-up. Servers run under `timeout $BUDGET`.
BUDGET=$((NTARGETS * (ROUNDS + WARMUP) * (60 + DRAIN_S + SETTLE_S + 15) + 300))

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
if has_target vm && ! command -v victoria-metrics >/dev/null 2>&1; then missing+=(victoria-metrics); fi
command -v go >/dev/null 2>&1 || die "go is not in PATH (needed to build wharf and the load generator)"
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} with apt-get"
    # policy-rc.d permitting, the package starts a system victoria-metrics on
    # :8428; this script never uses or stops it (its own runs on a free port).
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } ||
      die "apt-get could not install ${missing[*]}"
  else
    die "missing ${missing[*]}; install them first: sudo apt-get install -y ${missing[*]}"
  fi
fi

SRV_PIN=()
LOAD_PIN=()
if [[ $PIN == 1 ]]; then
  command -v taskset >/dev/null 2>&1 || die "PIN=1 needs taskset (util-linux)"
  (($(nproc) >= 2)) || die "PIN=1 needs at least 2 CPUs"
  LOAD_PIN=(taskset -c 0)
  SRV_PIN=(taskset -c 1)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wharf-mon-bench.XXXXXX")
mkdir -p "$TMP"/{bin,logs,results,state}

# ---------------------------------------------------------------- build --

if [[ -n $WHARF_REF ]]; then
  COMMIT=$(git -C "$REPO" rev-parse --short "$WHARF_REF") || die "unknown WHARF_REF=$WHARF_REF"
else
  COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || COMMIT+="+dirty"
fi
say "building the load generator and benchutil"
(cd "$REPO" && go build -o "$TMP/bin/loadgen" ./bench/monitoring/loadgen) || die "cannot build bench/monitoring/loadgen"
(cd "$REPO" && go build -o "$TMP/bin/benchutil" ./bench/gateway/benchutil) || die "cannot build bench/gateway/benchutil"
if has_target wharf; then
  WHARF_SRC=$REPO
  if [[ -n $WHARF_REF ]]; then
    WHARF_SRC=$TMP/src
    mkdir -p "$WHARF_SRC"
    git -C "$REPO" archive "$WHARF_REF" | tar -x -C "$WHARF_SRC" || die "cannot export WHARF_REF=$WHARF_REF"
  fi
  say "building wharf (go build ./cmd/wharf at $COMMIT)"
  (cd "$WHARF_SRC" && go build -o "$TMP/bin/wharf" ./cmd/wharf) || die "cannot build ./cmd/wharf"
fi

mapfile -t PORTS < <("$TMP/bin/benchutil" freeports -n 5)
((${#PORTS[@]} == 5)) || die "cannot find free loopback ports"
GW_PORT=${PORTS[0]} INT_PORT=${PORTS[1]} NSQ_TCP=${PORTS[2]} NSQ_HTTP=${PORTS[3]} VM_PORT=${PORTS[4]}

# ---------------------------------------------------------------- wharf --

if has_target wharf; then
  # Embedded defaults but loopback ports of its own, quiet logs, and room
  # for the bench's series (plus markers and the self feed).
  cat >"$TMP/wharf.yaml" <<EOF
# Generated by bench/monitoring/run.sh.
data_dir: $TMP/wharf-data
log: {format: text, level: warn}
internal: {listen: "127.0.0.1:$INT_PORT"}
nsq: {embedded_tcp: "127.0.0.1:$NSQ_TCP", embedded_http: "127.0.0.1:$NSQ_HTTP"}
gateway: {listen: "127.0.0.1:$GW_PORT"}
monitoring: {max_series: $((SERIES * 2 + 100000))}
EOF
  say "starting wharf serve on 127.0.0.1:$GW_PORT (internal 127.0.0.1:$INT_PORT, nsqd 127.0.0.1:$NSQ_TCP)"
  WENV=()
  # shellcheck disable=SC2206 # WHARF_ENV is a list of NAME=value words
  [[ -n $WHARF_ENV ]] && WENV+=($WHARF_ENV)
  start wharf env "${WENV[@]}" "$TMP/bin/wharf" serve --config "$TMP/wharf.yaml"
  code=$(wait_status wharf "http://127.0.0.1:$INT_PORT/ready" 200 60) ||
    die "wharf did not become ready within 60 s (/ready: $code)"
  # /ready can answer before serve has written the first admin token.
  for ((i = 0; i < 100; i++)); do
    [[ -s $TMP/wharf-data/admin.token ]] && break
    sleep 0.1
  done
  [[ -s $TMP/wharf-data/admin.token ]] || die "wharf wrote no admin token to $TMP/wharf-data/admin.token within 10 s of /ready"
  # And the gateway itself answers: the ports were picked free a moment
  # before serve bound them, and on a busy machine another program can
  # take one meanwhile (then its /ready, not serve's, may have answered).
  for ((i = 0; i < 600; i++)); do
    [[ $(http_code "http://127.0.0.1:$GW_PORT/health") != 000 ]] && break
    alive wharf || die "wharf exited during its start (a port picked as free may have been taken meanwhile: rerun)"
    sleep 0.1
  done
  [[ $(http_code "http://127.0.0.1:$GW_PORT/health") != 000 ]] ||
    die "wharf's gateway does not answer on 127.0.0.1:$GW_PORT 60 s after /ready"
  "$TMP/bin/loadgen" setup -gateway "http://127.0.0.1:$GW_PORT" -admin-token-file "$TMP/wharf-data/admin.token" \
    -token-out "$TMP/ingest.token" -judge-load="$([[ $JUDGE_LOAD == 1 ]] && echo true || echo false)" ||
    die "cannot create the ingest token and the strategies"
  say "wharf ready: ingest token and strategies created (judge load: $JUDGE_LOAD)"
fi

# ------------------------------------------------------------------- vm --

if has_target vm; then
  # Its own data dir and a loopback port; retention long enough for the
  # bench's timestamps (they start 400 days back, see loadgen/round.go), and
  # no query-cache reset on every old sample (the flag VM's docs give for
  # backfilling; nothing queries it here).
  say "starting victoria-metrics on 127.0.0.1:$VM_PORT"
  start vm victoria-metrics -storageDataPath "$TMP/vm-data" -httpListenAddr "127.0.0.1:$VM_PORT" \
    -retentionPeriod 100y -search.disableAutoCacheReset -loggerLevel WARN
  code=$(wait_status vm "http://127.0.0.1:$VM_PORT/health" 200 60) ||
    die "victoria-metrics did not answer /health within 60 s ($code)"
fi

# ----------------------------------------------------------------- load --

read -r -a ORDER <<<"${TARGETS//,/ }"

# round TARGET N EXTRA... runs one bounded loadgen round and appends its line
# to $TMP/results/rounds.jsonl (N=0: warm-up, kept apart).
round() {
  local t=$1 n=$2 pid args
  shift 2
  pid=$(pid_of "$t")
  [[ -n $pid ]] || die "$t is not running"
  args=(-target "$t" -round "$n" -series "$SERIES" -batch "$BATCH" -concurrency "$CONCURRENCY"
    -pid "$pid" -state "$TMP/state/$t" -drain-timeout "$DRAIN_TIMEOUT" -settle-timeout "$SETTLE_TIMEOUT")
  if [[ $t == wharf ]]; then
    args+=(-url "http://127.0.0.1:$GW_PORT" -token-file "$TMP/ingest.token"
      -metrics-url "http://127.0.0.1:$INT_PORT/metrics" -stored-metric wharf_monitor_series_points_total
      -nsqd-tcp "127.0.0.1:$NSQ_TCP" -nsqd-http "127.0.0.1:$NSQ_HTTP" -marker-every "$MARKER_EVERY")
  else
    args+=(-url "http://127.0.0.1:$VM_PORT" -metrics-url "http://127.0.0.1:$VM_PORT/metrics"
      -stored-metric vm_rows_added_to_storage_total)
  fi
  local file="$TMP/results/rounds.jsonl"
  ((n == 0)) && file="$TMP/results/warmup.jsonl"
  timeout --kill-after=5 $((60 + DRAIN_S + SETTLE_S + 60)) "${LOAD_PIN[@]}" "$TMP/bin/loadgen" round "${args[@]}" "$@" >>"$file" ||
    die "the load generator failed against $t"
  alive "$t" || die "$t exited during the load"
}

if ((WARMUP)); then
  say "warming up: one pass over the $SERIES series per target (at most 60 s each)"
  for t in "${ORDER[@]}"; do
    round "$t" 0 -duration 60s -until-points "$SERIES" -marker-every 0
  done
fi

say "measuring: $ROUNDS rounds x ${#ORDER[@]} targets x ${DUR_S}s ($SERIES series, $CONCURRENCY in flight, $BATCH points per request, PIN=$PIN)"
for ((r = 1; r <= ROUNDS; r++)); do
  n=${#ORDER[@]}
  for ((k = 0; k < n; k++)); do
    t=${ORDER[$(((k + r - 1) % n))]} # rotate so no target always runs first
    PROF_PID=""
    if [[ $t == wharf && $r == 1 && -n $PROFILE ]]; then
      curl -sS --noproxy '*' --max-time $((DUR_S + 30)) -o "$PROFILE" \
        "http://127.0.0.1:$INT_PORT/debug/pprof/profile?seconds=$((DUR_S > 3 ? DUR_S - 2 : 1))" &
      PROF_PID=$!
    fi
    round "$t" "$r" -duration "${DUR_S}s" -rate "$RATE"
    if [[ -n $PROF_PID ]]; then
      wait "$PROF_PID" || warn "the CPU profile failed"
      say "CPU profile of wharf's round 1 in $PROFILE (go tool pprof -top $TMP/bin/wharf $PROFILE)"
    fi
  done
done

# ---------------------------------------------------------------- report --

VM_VERSION=""
has_target vm && VM_VERSION=", victoria-metrics $(dpkg-query -W -f '${Version}' victoria-metrics 2>/dev/null || echo '(version unknown)')"
HEADER="commit $COMMIT, $(nproc) CPUs, $(go version | awk '{print $3}')$VM_VERSION
$SERIES series, ${DUR_S}s rounds x $ROUNDS (interleaved, medians), $CONCURRENCY requests in flight, $BATCH points per request, rate $([[ $RATE == 0 ]] && echo unpaced || echo "$RATE points/s"), warm-up $WARMUP, judge load $JUDGE_LOAD, markers every $MARKER_EVERY, PIN=$PIN, wharf env=${WHARF_ENV:-none}"
printf '\n' >&2
if [[ -s $TMP/results/warmup.jsonl ]]; then
  say "warm-up (series creation, not in the medians):"
  "$TMP/bin/loadgen" report "$TMP/results/warmup.jsonl" | grep '^| [a-z]' | grep -v '^| target' >&2 || true
fi
"$TMP/bin/loadgen" report -header "$HEADER" ${OUT:+-out "$OUT"} "$TMP/results/rounds.jsonl" ||
  die "cannot make the report"
[[ -n $OUT ]] && say "wrote $OUT"
exit 0
