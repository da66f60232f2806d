#!/usr/bin/env bash
# Flake hunt: the whole test suite (cargo test --locked --workspace
# --no-fail-fast), RUNS times in a row, while the chaos
# suite runs over and over beside it to load the machine (it starts and
# kill -9s worker processes, so it competes for both CPU and scheduling).
# A test that passes only when it wins a race against the clock shows up
# here. Usage (README, "Testing"):
#
#   bash tests/flake-hunt.sh [RUNS]        # RUNS defaults to 3
#
# Each run's output is kept in target/flake-hunt/run-N.log; the last lines
# printed are one summary line per run ("run N: P passed, F failed") and
# how many chaos runs loaded the machine meanwhile. Exits 1 if any run
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
out=target/flake-hunt
mkdir -p "$out"

# Build everything first, so the load and the runs only run tests.
cargo test --locked --workspace --no-run
chaos=$(cargo test --locked -p e2e --test chaos --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "chaos" and m.get("executable"):
        print(m["executable"])')

# The load: the chaos suite's binary in a loop, in a process group of its
# own so that exactly it (and its children) can be stopped at the end.
: > "$out/load.log"
setsid bash -c "while :; do '$chaos' >> '$out/load.log' 2>&1; echo load-run-done >> '$out/load.log'; done" &
load=$!
stop_load() { kill -- "-$load" 2>/dev/null || true; wait "$load" 2>/dev/null || true; }
trap stop_load EXIT

failed=0
summary=()
for i in $(seq 1 "$runs"); do
  started=$(date +%s)
  # --no-fail-fast: a failing test binary does not stop the run, so every
  # run counts every test.
  if cargo test --locked --workspace --no-fail-fast > "$out/run-$i.log" 2>&1; then ok=yes; else ok=no; failed=1; fi
  took=$(( $(date +%s) - started ))
  passed=$(awk '/^test result:/ {p += $4} END {print p + 0}' "$out/run-$i.log")
  fails=$(awk '/^test result:/ {f += $6} END {print f + 0}' "$out/run-$i.log")
  line="run $i: $passed passed, $fails failed, ${took} s (cargo test exit ok: $ok)"
  summary+=("$line")
  echo "$line"
  grep -E '^test .* FAILED$|panicked at' "$out/run-$i.log" || true
done
stop_load
trap - EXIT
echo "flake hunt: $runs runs of cargo test --locked --workspace --no-fail-fast beside $(grep -c load-run-done "$out/load.log" || true) completed chaos runs"
printf '%s\n' "${summary[@]}"
exit "$failed"
