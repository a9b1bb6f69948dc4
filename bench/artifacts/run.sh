#!/usr/bin/env bash
# Push one bundle (1 GiB of payload by default) through `wharf functions`
# (gateway → artifacts function → MinIO, multipart, sha256 on the way) and
# the same bytes with minio-go PutObject straight to the same MinIO; print
# both throughputs, their ratio and Wharf's peak RSS growth (VmHWM).
#
# Usage: bench/artifacts/run.sh            SIZE=268435456 bench/artifacts/run.sh
# Needs .bin/minio and .bin/nsqd (make deps) and redis-server. KEEP=1 keeps the temp dir.
set -euo pipefail

SIZE=${SIZE:-1073741824}
KEEP=${KEEP:-0}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/.bin
TMP=$(mktemp -d /tmp/wharf-artifacts-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { # url
	for _ in $(seq 1 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "not ready: $1" >&2; return 1
}

for b in "$BIN/minio" "$BIN/nsqd"; do [ -x "$b" ] || { echo "missing $b: run make deps" >&2; exit 1; }; done
command -v redis-server >/dev/null || { echo "missing redis-server: run make deps" >&2; exit 1; }

echo "building wharf and pushbench..."
(cd "$ROOT" && go build -o "$TMP/wharf" ./cmd/wharf && go build -o "$TMP/pushbench" ./bench/artifacts/pushbench)

MINIO=127.0.0.1:$(freeport); CONSOLE=127.0.0.1:$(freeport)
REDIS=$(freeport); NSQ_TCP=127.0.0.1:$(freeport); NSQ_HTTP=127.0.0.1:$(freeport); GW=127.0.0.1:$(freeport)
AK=wharfbench SK=wharfbench-secret-key

MINIO_ROOT_USER=$AK MINIO_ROOT_PASSWORD=$SK MINIO_BROWSER=off MINIO_UPDATE=off HOME=$TMP \
	"$BIN/minio" server --quiet --address "$MINIO" --console-address "$CONSOLE" "$TMP/minio" >"$TMP/minio.log" 2>&1 &
PIDS+=($!)
redis-server --port "$REDIS" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no --daemonize no >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
mkdir -p "$TMP/nsqd"
"$BIN/nsqd" --tcp-address "$NSQ_TCP" --http-address "$NSQ_HTTP" --data-path "$TMP/nsqd" >"$TMP/nsqd.log" 2>&1 &
PIDS+=($!)
waitfor "http://$MINIO/minio/health/ready"
waitfor "http://$NSQ_HTTP/ping"

"$TMP/wharf" functions --data-dir "$TMP/data" --log-level warn \
	--redis-addr "127.0.0.1:$REDIS" --nsq-nsqd "$NSQ_TCP" \
	--minio-endpoint "$MINIO" --minio-access-key "$AK" --minio-secret-key "$SK" --minio-bucket wharf-artifacts \
	--gateway-listen "$GW" --internal-listen 127.0.0.1:0 >"$TMP/wharf.log" 2>&1 &
WHARF=$!
PIDS+=("$WHARF")
for _ in $(seq 1 300); do
	[ -s "$TMP/data/admin.token" ] && curl -s -o /dev/null "http://$GW/api/v1/whoami" && break
	kill -0 "$WHARF" 2>/dev/null || { echo "wharf exited:" >&2; cat "$TMP/wharf.log" >&2; exit 1; }
	sleep 0.1
done

echo "generating the bundle ($SIZE bytes of payload)..."
"$TMP/pushbench" -gateway "http://$GW" -token "$(cat "$TMP/data/admin.token")" \
	-minio "$MINIO" -access-key "$AK" -secret-key "$SK" \
	-size "$SIZE" -file "$TMP/bundle.tar.gz" -pid "$WHARF"
