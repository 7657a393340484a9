#!/usr/bin/env bash
# A burst against a backend whose listen backlog is 5: nginx vs the gateway, each with one worker and
# a 1 s upstream connect timeout. Compares the 2xx each one delivers and fails when the gateway's share
# falls below RATIO_THRESHOLD of nginx's. See bench/README.md ("Connect-timeout burst").
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/panic_burst.sh [--keep-tmp] [-h|--help]

Starts bench/slow_backlog_backend.py (threaded HTTP/1.1, listen backlog 5) and, in front of it, nginx
and the gateway (one worker each, upstream connect timeout 1 s, upstream keep-alive). Then runs
`hey -n REQUESTS -c CONCURRENCY` against nginx and the gateway in turn, ROUNDS times each, waiting
for the backend to be idle before every run and restarting nothing. Prints per target the requests,
2xx, non-2xx by status and client errors, then gateway 2xx / nginx 2xx; exits 1 when that ratio is
below RATIO_THRESHOLD.

Environment (defaults): ROUNDS=2 REQUESTS=3000 CONCURRENCY=50 RATIO_THRESHOLD=0.95
  PANIC_THRESHOLD (unset: the key is not written, the gateway's default applies; set: written as
  upstreams[].panic_threshold, e.g. PANIC_THRESHOLD=0 for the behaviour without a panic threshold)
  GATEWAY_BIN=<repo>/.build/release/gateway
  BACKEND_PORT=18190 BACKEND_STATS_PORT=18191 NGINX_PORT=18181 GATEWAY_PORT=18182
  (the gateway's control listener is GATEWAY_PORT + 10)
  HEY_TIMEOUT=300 (seconds per hey run; hey is interrupted and its partial result counted)
  IDLE_TIMEOUT=60 (seconds to wait for the backend to go idle)  MAX_RUNTIME=1500 (whole run)
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$script_dir/lib.sh"
bench_name=panic_burst

ROUNDS=${ROUNDS:-2}
REQUESTS=${REQUESTS:-3000}
CONCURRENCY=${CONCURRENCY:-50}
RATIO_THRESHOLD=${RATIO_THRESHOLD:-0.95}
PANIC_THRESHOLD=${PANIC_THRESHOLD-}
GATEWAY_BIN=${GATEWAY_BIN:-$repo_root/.build/release/gateway}
BACKEND_PORT=${BACKEND_PORT:-18190}
BACKEND_STATS_PORT=${BACKEND_STATS_PORT:-18191}
NGINX_PORT=${NGINX_PORT:-18181}
GATEWAY_PORT=${GATEWAY_PORT:-18182}
HEY_TIMEOUT=${HEY_TIMEOUT:-300}
IDLE_TIMEOUT=${IDLE_TIMEOUT:-60}
MAX_RUNTIME=${MAX_RUNTIME:-1500}
CONTROL_PORT=$((GATEWAY_PORT + 10))

while (($#)); do
    case "$1" in
        --keep-tmp) keep_tmp=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done

require_whole_numbers ROUNDS REQUESTS CONCURRENCY HEY_TIMEOUT IDLE_TIMEOUT MAX_RUNTIME \
    BACKEND_PORT BACKEND_STATS_PORT NGINX_PORT GATEWAY_PORT
((ROUNDS >= 1 && CONCURRENCY >= 1 && REQUESTS >= CONCURRENCY)) ||
    die "need ROUNDS >= 1, CONCURRENCY >= 1 and REQUESTS >= CONCURRENCY"
[[ $RATIO_THRESHOLD =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "RATIO_THRESHOLD must be a number, got '$RATIO_THRESHOLD'"
if [[ -n $PANIC_THRESHOLD ]]; then
    [[ $PANIC_THRESHOLD =~ ^[0-9]+$ ]] || die "PANIC_THRESHOLD must be a whole percent, got '$PANIC_THRESHOLD'"
fi

require nginx "apt-get install nginx"
require hey "apt-get install hey"
require curl "apt-get install curl"
require python3 "runs the backend"
require timeout "coreutils"
[[ -x $GATEWAY_BIN ]] || die "gateway binary '$GATEWAY_BIN' is missing or not executable; build it or set GATEWAY_BIN"

# The temp dir, the traps that stop everything started on exit, and the MAX_RUNTIME watchdog.
bench_init /tmp/gateway-panic-burst.XXXXXX "logs, configs and raw hey output"

# Called by `start` (bench/lib.sh) when a process exits before its port accepts.
on_start_failure() {
    if [[ $1 == gateway ]] && grep -q panic_threshold "$tmp/$1.log"; then
        die "this gateway binary does not accept panic_threshold; rebuild it, or leave PANIC_THRESHOLD unset"
    fi
}

for port in "$BACKEND_PORT" "$BACKEND_STATS_PORT" "$NGINX_PORT" "$GATEWAY_PORT" "$CONTROL_PORT"; do
    port_open "$port" && die "$HOST:$port is already in use (see --help for the *_PORT variables)"
done

# nginx: one worker, upstream keep-alive as bench/run.sh sets it, 1 s connect timeout, the gateway's
# send/read timeouts. A single-server upstream is never marked down by nginx (max_fails is ignored).
{
    nginx_conf_head nginx 1 4096 "" off
    nginx_proxy_http "$NGINX_PORT" "$BACKEND_PORT" \
        "proxy_connect_timeout 1s" "proxy_send_timeout 10s" "proxy_read_timeout 10s"
} >"$tmp/nginx.conf"

# The gateway: as bench/run.sh writes it, one worker, access log off, one node, 1 s connect timeout.
upstream_keys=("timeout: {connect: 1, send: 10, read: 10}")
[[ -n $PANIC_THRESHOLD ]] && upstream_keys+=("panic_threshold: $PANIC_THRESHOLD")
gateway_yaml 1 "$GATEWAY_PORT" "$CONTROL_PORT" "$BACKEND_PORT" "{enabled: false}" "${upstream_keys[@]}" >"$tmp/gateway.yaml"

panic_note="panic_threshold not set (gateway default)"
[[ -n $PANIC_THRESHOLD ]] && panic_note="panic_threshold: $PANIC_THRESHOLD"
log "temp dir $tmp; hey -n $REQUESTS -c $CONCURRENCY, $ROUNDS round(s); gateway $GATEWAY_BIN ($panic_note)"

start backend "$BACKEND_PORT" python3 "$script_dir/slow_backlog_backend.py" --host "$HOST" \
    --port "$BACKEND_PORT" --stats-port "$BACKEND_STATS_PORT"
until port_open "$BACKEND_STATS_PORT"; do check_alive; sleep 0.1; done
start nginx "$NGINX_PORT" nginx -p "$tmp" -e "$tmp/nginx.error.log" -c "$tmp/nginx.conf"
start gateway "$GATEWAY_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway.yaml"
expect_200 backend "$BACKEND_PORT"
expect_200 nginx "$NGINX_PORT"
expect_200 gateway "$GATEWAY_PORT"

backend_stats() { curl -s --max-time 2 "http://$HOST:$BACKEND_STATS_PORT/stats"; }

# Prints "ACCEPT_QUEUE SYN_SENT SYN_RECV" for the backend port from /proc/net/tcp: connections waiting in
# the backend's accept queue, and handshakes towards it still in progress (e.g. a proxy's connect whose
# SYN was dropped and is being retransmitted).
backend_handshakes() {
    awk -v port=":$(printf '%04X' "$BACKEND_PORT")" '
        function ends(s) { return substr(s, length(s) - 4) == port }
        NR > 1 {
            split($5, queue, ":")
            if ($4 == "0A" && ends($2) && queue[2] != "00000000") accept++
            if ($4 == "02" && ends($3)) synsent++
            if ($4 == "03" && ends($2)) synrecv++
        }
        END { printf "%d %d %d\n", accept, synsent, synrecv }' /proc/net/tcp
}

# Waits until the backend has no request in flight, an empty accept queue, no handshake in progress,
# and served nothing between two looks 0.2 s apart. Proxies keep their idle keep-alive connections.
wait_backend_idle() {
    local deadline=$((SECONDS + IDLE_TIMEOUT)) previous="" stats handshakes
    while :; do
        check_alive
        stats=$(backend_stats) || stats=""
        handshakes=$(backend_handshakes)
        if [[ $stats == "inflight 0 "* && $handshakes == "0 0 0" && $stats == "$previous" ]]; then
            return 0
        fi
        previous=$stats
        ((SECONDS < deadline)) || { failed=1; die "backend not idle after ${IDLE_TIMEOUT}s (stats '$stats', accept queue/syn-sent/syn-recv $handshakes)"; }
        sleep 0.2
    done
}

# Prints "2XX NON2XX ERRORS SECONDS BY_CODE" from one hey output file; BY_CODE is "502:12,504:3" or "-".
parse_hey() {
    awk '
        /^Summary:/ { section = "summary"; next }
        /^Status code distribution:/ { section = "status"; next }
        /^Error distribution:/ { section = "errors"; next }
        /^[A-Za-z]/ { section = "" }
        section == "summary" && $1 == "Total:" { seconds = $2 }
        section == "status" && match($0, /\[[0-9]+\]/) {
            code = substr($0, RSTART + 1, RLENGTH - 2); count = $2
            if (code ~ /^2/) ok += count
            else { other += count; by = by (by == "" ? "" : ",") code ":" count }
            seen = 1
        }
        section == "errors" && match($0, /\[[0-9]+\]/) { errors += substr($0, RSTART + 1, RLENGTH - 2); seen = 1 }
        END {
            if (!seen && seconds == "") exit 1
            printf "%d %d %d %s %s\n", ok, other, errors, (seconds == "" ? "?" : seconds), (by == "" ? "-" : by)
        }' "$1"
}

declare -A total_ok=() total_other=() total_errors=() total_requests=()
declare -A codes_by=()
interrupted=()
targets=(nginx gateway)
port_of() { if [[ $1 == nginx ]]; then echo "$NGINX_PORT"; else echo "$GATEWAY_PORT"; fi; }
for target in "${targets[@]}"; do
    total_ok[$target]=0 total_other[$target]=0 total_errors[$target]=0 total_requests[$target]=0
done

# Adds "502:12,504:3" to the per-target per-code totals.
add_codes() { # target by_code
    local pair
    [[ $2 == - ]] && return 0
    IFS=, read -ra pairs <<<"$2"
    for pair in "${pairs[@]}"; do
        codes_by[$1:${pair%%:*}]=$((${codes_by[$1:${pair%%:*}]:-0} + ${pair#*:}))
    done
}

for round in $(seq "$ROUNDS"); do
    for target in "${targets[@]}"; do
        wait_backend_idle
        before=$(backend_stats)
        out=$tmp/hey-$target-round$round.txt
        status=0
        timeout -s INT --kill-after=15 "$HEY_TIMEOUT" \
            hey -n "$REQUESTS" -c "$CONCURRENCY" "http://$HOST:$(port_of "$target")/" >"$out" 2>&1 || status=$?
        if ((status == 124)); then
            log "hey against $target was interrupted after ${HEY_TIMEOUT}s; counting its partial result"
            interrupted+=("$target round $round")
        fi
        check_alive
        parsed=$(parse_hey "$out") || { failed=1; cat "$out" >&2; die "could not parse hey output for $target ($out)"; }
        read -r ok other errors seconds by_code <<<"$parsed"
        requests=$((ok + other + errors))
        total_ok[$target]=$((total_ok[$target] + ok))
        total_other[$target]=$((total_other[$target] + other))
        total_errors[$target]=$((total_errors[$target] + errors))
        total_requests[$target]=$((total_requests[$target] + requests))
        add_codes "$target" "$by_code"
        log "round $round $target: $requests requests in $seconds s: 2xx $ok, non-2xx $other (${by_code//-/none}), errors $errors; backend before: $before, after: $(backend_stats)"
    done
done
wait_backend_idle

# What the gateway saw: circuit transitions and node health, from its own metrics.
scrape=$(curl -s --max-time 3 "http://$HOST:$CONTROL_PORT/metrics" || true)
grep -E '^gateway_upstream_(circuit_transitions_total|circuit_state|node_healthy|panic)[^ ]* ' <<<"$scrape" |
    grep -v ' 0$' | sed 's/^/panic_burst: gateway metric: /' >&2 || true
log "nginx error log: $(grep -c 'upstream timed out' "$tmp/nginx.error.log" || true) 'upstream timed out' lines"

echo
echo "Connect-timeout burst: hey -n $REQUESTS -c $CONCURRENCY x $ROUNDS round(s) per target; backend listen backlog 5;"
echo "one worker each; upstream connect timeout 1 s; gateway $panic_note"
echo
printf '%-8s  %8s  %8s  %-28s  %6s\n' target requests 2xx "non-2xx by status" errors
printf '%-8s  %8s  %8s  %-28s  %6s\n' -------- -------- -------- ---------------------------- ------
for target in "${targets[@]}"; do
    by=""
    for key in $(printf '%s\n' "${!codes_by[@]}" | grep "^$target:" | sort); do
        by+="${by:+ }${key#*:}: ${codes_by[$key]}"
    done
    printf '%-8s  %8d  %8d  %-28s  %6d\n' "$target" "${total_requests[$target]}" "${total_ok[$target]}" \
        "${by:-none}" "${total_errors[$target]}"
done
echo
if ((${#interrupted[@]})); then
    echo "note: hey was interrupted after HEY_TIMEOUT=${HEY_TIMEOUT}s in: ${interrupted[*]}; those totals are partial"
fi
((total_ok[nginx] > 0)) || { failed=1; die "nginx delivered no 2xx at all; the scenario is broken (logs in $tmp)"; }
ratio=$(awk -v g="${total_ok[gateway]}" -v n="${total_ok[nginx]}" 'BEGIN { printf "%.3f", g / n }')
echo "gateway 2xx / nginx 2xx = ${total_ok[gateway]} / ${total_ok[nginx]} = $ratio (threshold $RATIO_THRESHOLD)"
if awk -v r="$ratio" -v t="$RATIO_THRESHOLD" 'BEGIN { exit !(r < t) }'; then
    echo "FAIL: the gateway delivered less than $RATIO_THRESHOLD of nginx's 2xx"
    failed=1
    exit 1
fi
echo "PASS"
