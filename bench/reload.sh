#!/usr/bin/env bash
# p99 while the configuration is reloaded every 200 ms against p99 without reloads, in the same run.
# See bench/README.md ("Reload under load").
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: bench/reload.sh [--keep-tmp] [-h|--help]

Starts an nginx backend and the gateway in front of it, then runs wrk against the gateway in
alternating rounds: "steady" and "reloading". In both the config file is rewritten with a route added
or removed every RELOAD_INTERVAL seconds for the whole round; only in "reloading" is the gateway sent
SIGHUP, so the difference is the reloads, not the script's own work. Prints per round
requests/s, p99, non-2xx and socket errors and the reloads applied (gateway_config_generation), then
the median p99 ratio reloading / steady. Exits 1 when a reloading round has a failed request or no
reload was applied, or the ratio is above RATIO_THRESHOLD.

Environment (defaults): ROUNDS=3 DURATION=10s THREADS=2 CONNECTIONS=64 WORKERS=1 RELOAD_INTERVAL=0.2
  RATIO_THRESHOLD=1.1 GATEWAY_BIN=<repo>/.build/release/gateway
  BACKEND_PORT=18290 GATEWAY_PORT=18282 (control: GATEWAY_PORT + 10)  MAX_RUNTIME=900
USAGE
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$script_dir/lib.sh"
bench_name=reload

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WORKERS=${WORKERS:-1}
RELOAD_INTERVAL=${RELOAD_INTERVAL:-0.2}
RATIO_THRESHOLD=${RATIO_THRESHOLD:-1.1}
GATEWAY_BIN=${GATEWAY_BIN:-$repo_root/.build/release/gateway}
BACKEND_PORT=${BACKEND_PORT:-18290}
GATEWAY_PORT=${GATEWAY_PORT:-18282}
MAX_RUNTIME=${MAX_RUNTIME:-900}
CONTROL_PORT=$((GATEWAY_PORT + 10))

while (($#)); do
    case "$1" in
        --keep-tmp) keep_tmp=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done

require_whole_numbers ROUNDS THREADS CONNECTIONS WORKERS BACKEND_PORT GATEWAY_PORT MAX_RUNTIME
require wrk "apt-get install wrk"
require nginx "apt-get install nginx"
[[ -x $GATEWAY_BIN ]] || die "$GATEWAY_BIN not found: swift build -c release --product gateway"

bench_init /tmp/gateway-reload.XXXXXX "logs, configs and raw wrk output"
port_open "$BACKEND_PORT" && die "$HOST:$BACKEND_PORT is already in use; set BACKEND_PORT"
port_open "$GATEWAY_PORT" && die "$HOST:$GATEWAY_PORT is already in use; set GATEWAY_PORT"

{
    nginx_conf_head backend 1 4096 "" off
    echo "    keepalive_requests 10000000;"
    echo "    keepalive_timeout 300s;"
    echo "    default_type text/plain;"
    echo "    server {"
    echo "        listen $HOST:$BACKEND_PORT;"
    echo "        location / { return 200 \"hello from the benchmark backend\n\"; }"
    echo "    }"
    echo "}"
} >"$tmp/backend.conf"
start backend "$BACKEND_PORT" nginx -p "$tmp" -e "$tmp/backend.error.log" -c "$tmp/backend.conf"

# config VARIANT: the gateway config; odd variants add a route, so every reload changes something.
config() {
    gateway_yaml "$WORKERS" "$GATEWAY_PORT" "$CONTROL_PORT" "$BACKEND_PORT" "{enabled: false}"
    if (($1 % 2)); then
        echo "  - id: extra"
        echo "    uris: [\"/extra/*\"]"
        echo "    upstream_id: backend"
    fi
    echo "config: {watch: false}"
}
config 0 >"$tmp/gateway.yaml"
start gateway "$GATEWAY_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway.yaml"
expect_200 gateway "$GATEWAY_PORT"

generation() {
    curl -s --max-time 5 "http://$HOST:$CONTROL_PORT/metrics" | awk '$1 == "gateway_config_generation" { print $2 }'
}

# Prints "REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS" from a wrk --latency output file.
parse_wrk() {
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        $1 == "Requests/sec:" { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(",", ""); sock = $4 + $6 + $8 + $10 }
        END { if (rps == "" || p99 == "") exit 1; printf "%s %.3f %d %d\n", rps, p99, non2xx + 0, sock + 0 }
    ' "$1"
}

wrk -t"$THREADS" -c"$CONNECTIONS" -d3s "http://$HOST:$GATEWAY_PORT/" >"$tmp/wrk-warmup.txt" 2>&1
variant=0
steady=()
reloading=()
status=0
for round in $(seq "$ROUNDS"); do
    for mode in steady reloading; do
        check_alive
        out="$tmp/wrk-$mode-$round.txt"
        before=$(generation)
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://$HOST:$GATEWAY_PORT/" >"$out" 2>&1 &
        wrk_pid=$!
        # Both modes rewrite the file on the same schedule (the script's own processes load the machine
        # the same way); only "reloading" tells the gateway (config.watch is off).
        while kill -0 "$wrk_pid" 2>/dev/null; do
            variant=$((variant + 1))
            config "$variant" >"$tmp/gateway.yaml.new"
            mv "$tmp/gateway.yaml.new" "$tmp/gateway.yaml"
            if [[ $mode == reloading ]]; then kill -HUP "${pid_of[gateway]}"; else kill -0 "${pid_of[gateway]}"; fi
            sleep "$RELOAD_INTERVAL"
        done
        wait "$wrk_pid" || true
        after=$(generation)
        parsed=$(parse_wrk "$out") || die "cannot parse $out"
        read -r rps p99 non2xx sockerr <<<"$parsed"
        log "round $round $mode: $rps req/s, p99 $p99 ms, non-2xx $non2xx, socket errors $sockerr, reloads $((after - before))"
        if [[ $mode == steady ]]; then steady+=("$p99"); else reloading+=("$p99"); fi
        if [[ $mode == reloading ]] && ((non2xx + sockerr > 0 || after - before == 0)); then
            status=1
            failed=1
        fi
    done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
steady_p99=$(median "${steady[@]}")
reloading_p99=$(median "${reloading[@]}")
ratio=$(awk -v a="$reloading_p99" -v b="$steady_p99" 'BEGIN { printf "%.3f", a / b }')
log "median p99: steady $steady_p99 ms, reloading every ${RELOAD_INTERVAL}s $reloading_p99 ms, ratio $ratio (threshold $RATIO_THRESHOLD)"
awk -v r="$ratio" -v t="$RATIO_THRESHOLD" 'BEGIN { exit !(r <= t) }' || { status=1; failed=1; }
exit "$status"
