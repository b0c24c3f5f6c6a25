#!/usr/bin/env bash
# Re-create docs/captured/get.txt and demo.txt: the README's `kuaidi get` and `make demo` runs,
# against `kuaidi sim --profile cn-link` on loopback (nothing leaves the box).
#
#     bash docs/captured/capture_get_demo.sh        # from the repo root, after `make venv`
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$PWD/.venv/bin"
OUT="$PWD/docs/captured"
WORK="$(mktemp -d)"
trap 'kill "$SIM_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Start the sim the way a user does and take the exports it prints.
"$BIN/kuaidi" sim --profile cn-link --with-proxy >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do grep -q 'Ctrl-C to stop' "$WORK/sim.out" && break; sleep 0.1; done
eval "$(sed -n 's/^  export /export /p' "$WORK/sim.out")"

run() {  # run "shown command" cmd...
    local shown="$1"; shift
    printf '$ %s\n' "$shown"
    set +e; "$@" 2>&1; local rc=$?; set -e
    printf '(exit status %s)\n\n' "$rc"
}

{
    echo "# captured by docs/captured/capture_get_demo.sh (kuaidi sim --profile cn-link; ports vary)"
    echo '$ kuaidi sim --profile cn-link --with-proxy &   # prints the exports below, among other things'
    sed -n 's/^  export /export /p' "$WORK/sim.out" | sed 's/^/$ /'
    echo
    run "kuaidi get kuaidi-sim/demo-model --cache-dir /tmp/x --dry-run" \
        "$BIN/kuaidi" get kuaidi-sim/demo-model --cache-dir "$WORK/x" --dry-run
    run "kuaidi get kuaidi-sim/demo-model --cache-dir /tmp/x" \
        "$BIN/kuaidi" get kuaidi-sim/demo-model --cache-dir "$WORK/x"
    run "kuaidi get kuaidi-sim/demo-model --cache-dir /tmp/x      # again: nothing to fetch" \
        "$BIN/kuaidi" get kuaidi-sim/demo-model --cache-dir "$WORK/x"
    run "kuaidi cache verify kuaidi-sim/demo-model --cache-dir /tmp/x" \
        "$BIN/kuaidi" cache verify kuaidi-sim/demo-model --cache-dir "$WORK/x"
    # The route ladder: ModelScope's copy of this repo is another variant (other bytes).
    run "kuaidi get Qwen/Qwen-Sim-0.5B --cache-dir /tmp/x --dry-run --explain" \
        "$BIN/kuaidi" get Qwen/Qwen-Sim-0.5B --cache-dir "$WORK/x" --dry-run --explain
} | sed "s#$WORK/x#/tmp/x#g" >"$OUT/get.txt"

{
    echo "# captured by docs/captured/capture_get_demo.sh (a checkout whose .venv is already built)"
    start=$(date +%s.%N)
    run "make demo" make --no-print-directory demo
    printf '# wall time: %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
} >"$OUT/demo.txt"
