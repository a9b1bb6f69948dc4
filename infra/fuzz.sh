#!/usr/bin/env bash
# Runs every fuzz target of the module (func FuzzXxx in a _test.go file) for
# FUZZTIME each (default 10s), one after the other, and lists the targets
# that failed at the end (exit 1 if any); go test keeps a failing input
# under the package's testdata/fuzz/.
#   FUZZTIME=1m bash infra/fuzz.sh            # longer runs
#   bash infra/fuzz.sh ./internal/redact/     # only some packages
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=(./...)
fi
n=0
failed=()
start=$SECONDS
while IFS= read -r line; do
  dir=${line%%:*}
  for target in ${line#*:}; do
    echo "fuzz: $dir $target ($fuzztime)"
    if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" >/tmp/wharf-fuzz.$$ 2>&1; then
      n=$((n + 1))
    else
      cat /tmp/wharf-fuzz.$$
      echo "fuzz: $dir $target FAILED" >&2
      failed+=("$dir $target")
    fi
  done
done < <(go list -f '{{.Dir}}' "${pkgs[@]}" | while read -r d; do
  rel=${d#"$PWD"/}
  targets=$( (grep -ho '^func Fuzz[A-Za-z0-9_]*' "$d"/*_test.go 2>/dev/null || true) | sed 's/^func //' | sort -u | tr '\n' ' ')
  [ -n "$targets" ] && echo "$rel:$targets"
done)
rm -f /tmp/wharf-fuzz.$$
echo "fuzz: $n targets clean in $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
