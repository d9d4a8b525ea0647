#!/usr/bin/env bash
# Run the README's test command while two CPU-bound processes keep both cores busy, as on a
# shared CI machine; report each run's result and wall time.
#   scripts/test-under-load.sh                 one run of the whole suite
#   scripts/test-under-load.sh --runs 3        three consecutive runs
#   scripts/test-under-load.sh -- tests/delivery -k outage   arguments after -- go to pytest
# The burners are started before each run and stopped after it (and on any exit or signal), so
# nothing is left spinning. Exit status: 0 when every run passed, else the last failing run's.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=1
burners=2
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --burners) burners="$2"; shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done

pids=()
stop_burners() {
    if [[ ${#pids[@]} -gt 0 ]]; then
        kill "${pids[@]}" 2>/dev/null
        wait "${pids[@]}" 2>/dev/null
    fi
    pids=()
}
trap stop_burners EXIT
trap 'stop_burners; exit 130' INT TERM

status=0
summary=()
for ((run = 1; run <= runs; run++)); do
    for ((i = 0; i < burners; i++)); do
        # A pure CPU loop at normal priority: it competes with the tests for both cores.
        python3 -c 'while True: pass' &
        pids+=($!)
    done
    started=$(date +%s)
    log="${TMPDIR:-/tmp}/aibos-test-under-load.$$.$run.log"
    bash scripts/test.sh "$@" 2>&1 | tee "$log"
    result=${PIPESTATUS[0]}
    wall=$(($(date +%s) - started))
    stop_burners
    outcome=$(grep -E '^=+ .*(passed|failed|error|no tests ran).* in [0-9.]+s' "$log" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')
    summary+=("run ${run}/${runs}: exit ${result}, wall ${wall} s, ${outcome:-no pytest summary}")
    if [[ $result -ne 0 ]]; then
        status=$result
    fi
done

echo "== test-under-load (${burners} CPU burners)"
printf '%s\n' "${summary[@]}"
exit "$status"
