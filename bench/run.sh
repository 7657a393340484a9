#!/usr/bin/env bash
# Whole-process proxy comparison: an nginx backend, then nginx, HAProxy and the gateway proxying to it,
# all with the same worker count, driven by wrk in alternating rounds; requests/s, p99 and CPU time per
# request of each target. See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/run.sh [options]

Starts an nginx backend, nginx and HAProxy as reverse proxies and the gateway (same worker count,
same backend, all on 127.0.0.1), checks each answers 200, drives each with wrk in alternating
rounds and prints requests/s, p99 and CPU time per request (user+system of all the target's
processes over each round, divided by the requests wrk completed) with ratios to nginx.

Options:
  --markdown FILE          write the markdown report to FILE instead of stdout
  --idle-connections N     also hold N idle keep-alive connections against each proxy and report
                           RSS before/after (bytes per idle connection)
  --slowloris N            also run wrk against each proxy with and without N slowloris connections
  --no-access-log          turn nginx's access log off (on by default, to a file, as in production)
  --keep-tmp               keep the temp dir (configs, logs, raw wrk output)
  -h, --help               this text

Environment (defaults): WORKERS=1 THREADS=1 CONNECTIONS=64 DURATION=6s ROUNDS=2 WARMUP=1s
  GATEWAY_BIN=<repo>/.build/release/gateway
  TARGETS="backend nginx haproxy gateway gateway-bare gateway-epoll"
  BACKEND_PORT=18090 NGINX_PORT=18081 GATEWAY_PORT=18082 HAPROXY_PORT=18083 GATEWAY_BARE_PORT=18084
  GATEWAY_EPOLL_PORT=18085 (each gateway's control listener is its port + 10)
  gateway runs the shipped defaults (metrics and a zstd access log on, engine auto); gateway-bare has
  metrics and the access log off; gateway-epoll is gateway with "engine: epoll".
  SLOWLORIS_INTERVAL=2 (seconds between header bytes)  MAX_RUNTIME=1800 (seconds, whole run)
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$script_dir/lib.sh"
bench_name=bench
bench_curl_max_time=3
bench_expect_200_hint="; TARGETS can leave it out"

WORKERS=${WORKERS:-1}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-6s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-1s}
GATEWAY_BIN=${GATEWAY_BIN:-$repo_root/.build/release/gateway}
DEFAULT_TARGETS="backend nginx haproxy gateway gateway-bare gateway-epoll"
TARGETS=${TARGETS:-$DEFAULT_TARGETS}
BACKEND_PORT=${BACKEND_PORT:-18090}
NGINX_PORT=${NGINX_PORT:-18081}
GATEWAY_PORT=${GATEWAY_PORT:-18082}
HAPROXY_PORT=${HAPROXY_PORT:-18083}
GATEWAY_BARE_PORT=${GATEWAY_BARE_PORT:-18084}
GATEWAY_EPOLL_PORT=${GATEWAY_EPOLL_PORT:-18085}
SLOWLORIS_INTERVAL=${SLOWLORIS_INTERVAL:-2}
MAX_RUNTIME=${MAX_RUNTIME:-1800}

markdown_file=""
idle_count=0
slowloris_count=0
nginx_access_log=on
command_line="$0 $*"
while (($#)); do
    case "$1" in
        --markdown) markdown_file=${2:?--markdown needs a file}; shift 2 ;;
        --idle-connections) idle_count=${2:?--idle-connections needs a count}; shift 2 ;;
        --slowloris) slowloris_count=${2:?--slowloris needs a count}; shift 2 ;;
        --no-access-log) nginx_access_log=off; shift ;;
        --keep-tmp) keep_tmp=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done

require_whole_numbers WORKERS THREADS CONNECTIONS ROUNDS idle_count slowloris_count MAX_RUNTIME
((WORKERS >= 1 && ROUNDS >= 1)) || die "WORKERS and ROUNDS must be at least 1"
for target in $TARGETS; do
    case "$target" in
        backend | nginx | haproxy | gateway | gateway-bare | gateway-epoll) ;;
        *) die "unknown target '$target' in TARGETS" ;;
    esac
done
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# wrk durations look like 6s, 500ms, 1m; timeouts need whole seconds.
seconds_of() {
    local value=$1
    case "$value" in
        *ms) echo 1 ;;
        *m) echo $((${value%m} * 60)) ;;
        *s) echo "${value%s}" ;;
        *) echo "$value" ;;
    esac
}
[[ $(seconds_of "$DURATION") =~ ^[0-9]+$ ]] || die "DURATION must look like 6s, 1m or 6, got '$DURATION'"

require nginx "apt-get install nginx"
require wrk "apt-get install wrk"
require curl "apt-get install curl"
require python3 "needed for the report and the connection helpers"
require timeout "coreutils"
require pgrep "procps"
require getconf "libc-bin"
wants haproxy && require haproxy "apt-get install haproxy"
if wants gateway || wants gateway-bare || wants gateway-epoll; then
    [[ -x $GATEWAY_BIN ]] || die "gateway binary '$GATEWAY_BIN' is missing or not executable; build it with 'swift build -c release' or set GATEWAY_BIN"
fi

# Every connection is a descriptor in the client and in the proxy; raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
needed_fds=$((idle_count + slowloris_count + CONNECTIONS + 600))
((fd_limit >= needed_fds)) || die "open-file limit $fd_limit is below the $needed_fds this run needs; lower --idle-connections or raise 'ulimit -Hn'"
# nginx counts client and upstream connections against worker_connections.
worker_connections=$((fd_limit - 100))

# The temp dir, the traps that stop everything started on exit, and the MAX_RUNTIME watchdog.
bench_init /tmp/gateway-bench.XXXXXX "logs, configs and raw wrk output"
records=$tmp/records.tsv
: >"$records"

port_of() {
    case "$1" in
        backend) echo "$BACKEND_PORT" ;; nginx) echo "$NGINX_PORT" ;;
        haproxy) echo "$HAPROXY_PORT" ;; gateway) echo "$GATEWAY_PORT" ;;
        gateway-bare) echo "$GATEWAY_BARE_PORT" ;; gateway-epoll) echo "$GATEWAY_EPOLL_PORT" ;;
    esac
}

# A process and all its descendants (nginx master + workers), one pid a line.
tree_pids() {
    local queue=("$1") pid child
    while ((${#queue[@]})); do
        pid=${queue[0]}
        queue=("${queue[@]:1}")
        echo "$pid"
        for child in $(pgrep -P "$pid" || true); do queue+=("$child"); done
    done
}

# Sum of VmRSS (KiB) over a process and all its descendants.
rss_kb() {
    local pid total=0 rss
    for pid in $(tree_pids "$1"); do
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${rss:-0}))
    done
    echo "$total"
}

# Sum of utime + stime (clock ticks) over a process and all its descendants. A process's
# /proc/PID/stat already counts all its threads, the exited ones included. The command name
# (field 2) may hold spaces, so the fields are counted after its closing parenthesis:
# utime and stime are fields 14 and 15, i.e. the 12th and 13th after it.
clk_tck=$(getconf CLK_TCK)
cpu_ticks() {
    local pid stat total=0 fields
    for pid in $(tree_pids "$1"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -ra fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# The gateway logs a few lines while it starts; what it logs after it answered its first request
# is worth a look at the end of the run.
declare -A start_log_lines=()
mark_log() { start_log_lines[$1]=$(wc -l <"$tmp/$1.log"); }
log_since_start() { tail -n "+$((${start_log_lines[$1]} + 1))" "$tmp/$1.log"; }

for target in $TARGETS; do
    port_variable=${target^^}
    port_open "$(port_of "$target")" && die "$HOST:$(port_of "$target") ($target) is already in use; set ${port_variable//-/_}_PORT"
done
port_open "$BACKEND_PORT" && die "$HOST:$BACKEND_PORT (backend) is already in use; set BACKEND_PORT"

# Backend: always one nginx worker answering a fixed body, so every proxy meets the same ceiling.
{
    nginx_conf_head backend 1 "$worker_connections" "$fd_limit" off
    cat <<EOF
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    default_type text/plain;
    server {
        listen $HOST:$BACKEND_PORT;
        location / { return 200 "hello from the benchmark backend\n"; }
    }
}
EOF
} >"$tmp/backend.conf"

nginx_access=off
[[ $nginx_access_log == on ]] && nginx_access="$tmp/nginx-access.log combined"
{
    nginx_conf_head nginx "$WORKERS" "$worker_connections" "$fd_limit" "$nginx_access"
    nginx_proxy_http "$NGINX_PORT" "$BACKEND_PORT"
} >"$tmp/nginx.conf"

# HAProxy reserves two descriptors per maxconn and refuses to start when the hard limit is lower;
# "no strict-limits" lets it run with what this run actually needs (one per client connection,
# plus the few upstream ones).
haproxy_maxconn=$((idle_count + slowloris_count + CONNECTIONS + 512))
((haproxy_maxconn >= 4096)) || haproxy_maxconn=4096
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread $WORKERS
    maxconn $haproxy_maxconn
    ulimit-n $fd_limit
    no strict-limits
defaults
    mode http
    timeout connect 5s
    timeout client 75s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 75s
    http-reuse always
frontend proxy
    bind $HOST:$HAPROXY_PORT
    default_backend backend
backend backend
    server node1 $HOST:$BACKEND_PORT
EOF

# The shipped defaults: metrics recorded, zstd access log on (as nginx's log is on).
gateway_yaml "$WORKERS" "$GATEWAY_PORT" "$((GATEWAY_PORT + 10))" "$BACKEND_PORT" \
    "{enabled: true, path: \"$tmp/gateway-logs/access.log.zst\", format: json}" >"$tmp/gateway.yaml"

sed -e "s#$HOST:$GATEWAY_PORT#$HOST:$GATEWAY_BARE_PORT#" \
    -e 's#^access_log:.*#access_log: {enabled: false}#' -e 's#^metrics:.*#metrics: {enabled: false}#' \
    -e '/^control:/d' \
    "$tmp/gateway.yaml" >"$tmp/gateway-bare.yaml"

# The shipped defaults again, on the epoll engine instead of auto (io_uring where the kernel allows it).
{
    echo "engine: epoll"
    sed -e "s#$HOST:$GATEWAY_PORT#$HOST:$GATEWAY_EPOLL_PORT#" -e "s#$HOST:$((GATEWAY_PORT + 10))#$HOST:$((GATEWAY_EPOLL_PORT + 10))#" \
        -e "s#$tmp/gateway-logs/#$tmp/gateway-epoll-logs/#" "$tmp/gateway.yaml"
} >"$tmp/gateway-epoll.yaml"

log "temp dir $tmp; workers=$WORKERS wrk -t$THREADS -c$CONNECTIONS -d$DURATION rounds=$ROUNDS; open-file limit $fd_limit"
start backend "$BACKEND_PORT" nginx -p "$tmp" -e "$tmp/backend.error.log" -c "$tmp/backend.conf"
expect_200 backend "$BACKEND_PORT"
if wants gateway; then
    start gateway "$GATEWAY_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway.yaml"
    # Sampled before any request reaches it: the idle footprint of a fresh gateway.
    sleep 0.5
    printf 'startrss\tgateway\t%s\n' "$(rss_kb "${pid_of[gateway]}")" >>"$records"
    expect_200 gateway "$GATEWAY_PORT"
    mark_log gateway
fi
if wants gateway-bare; then
    start gateway-bare "$GATEWAY_BARE_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-bare.yaml"
    expect_200 gateway-bare "$GATEWAY_BARE_PORT"
    mark_log gateway-bare
fi
if wants gateway-epoll; then
    start gateway-epoll "$GATEWAY_EPOLL_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-epoll.yaml"
    expect_200 gateway-epoll "$GATEWAY_EPOLL_PORT"
    mark_log gateway-epoll
fi
if wants nginx; then
    start nginx "$NGINX_PORT" nginx -p "$tmp" -e "$tmp/nginx.error.log" -c "$tmp/nginx.conf"
    expect_200 nginx "$NGINX_PORT"
fi
if wants haproxy; then
    start haproxy "$HAPROXY_PORT" haproxy -db -f "$tmp/haproxy.cfg"
    expect_200 haproxy "$HAPROXY_PORT"
fi
# The backend's process stays in pid_of for liveness checks; "backend" as a target means direct.

run_wrk() { # name port duration outfile
    timeout --kill-after=5 $(($(seconds_of "$3") + 30)) \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency "http://$HOST:$2/" >"$4" 2>&1 || true
}

# Prints "REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS REQUESTS" from one wrk output file.
parse_wrk() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
            return v + 0
        }
        /^Requests\/sec:/ { rps = $2 }
        / requests in / { requests = $1 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
        END {
            if (rps == "" || p99 == "") exit 1
            printf "%s %.3f %d %d %d\n", rps, p99, non2xx + 0, sock + 0, requests + 0
        }' "$1"
}

# Runs one measured wrk and sets rps, p99, non2xx, sockerr, requests and cpu_us (user+system CPU
# time of all the target's processes during the round, in microseconds per completed request;
# "backend" is the backend nginx itself).
measure() { # target label
    local target=$1 label=$2 out parsed root ticks_before ticks_after
    out="$tmp/wrk-$target-$label.txt"
    root=${pid_of[$target]}
    ticks_before=$(cpu_ticks "$root")
    run_wrk "$target" "$(port_of "$target")" "$DURATION" "$out"
    ticks_after=$(cpu_ticks "$root")
    check_alive
    parsed=$(parse_wrk "$out") || { failed=1; cat "$out" >&2; die "could not parse wrk output for $target ($out)"; }
    read -r rps p99 non2xx sockerr requests <<<"$parsed"
    ((requests > 0)) || { failed=1; cat "$out" >&2; die "wrk completed no requests against $target ($out)"; }
    cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk_tck" -v n="$requests" \
        'BEGIN { printf "%.3f", t * 1000000 / hz / n }')
}

if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
    for target in $TARGETS; do run_wrk "$target" "$(port_of "$target")" "$WARMUP" "$tmp/wrk-$target-warmup.txt"; done
    check_alive
fi

for round in $(seq "$ROUNDS"); do
    for target in $TARGETS; do
        measure "$target" "round$round"
        log "round $round $target: $rps req/s, p99 $p99 ms, non-2xx $non2xx, socket errors $sockerr, CPU $cpu_us µs/request ($requests requests)"
        printf 'round\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$rps" "$p99" "$non2xx" "$sockerr" "$cpu_us" >>"$records"
    done
done

proxies=()
for target in nginx haproxy gateway gateway-bare gateway-epoll; do wants "$target" && proxies+=("$target"); done

# Starts a helper in the background and waits for its READY line (or fails after a deadline).
start_helper() { # name timeout command...
    local name=$1 limit=$2
    shift 2
    "$@" >"$tmp/$name.out" 2>&1 &
    helper_pids+=("$!")
    local pid=$! deadline=$((SECONDS + limit))
    until grep -q '^READY' "$tmp/$name.out"; do
        if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/$name.out" >&2; die "$name exited before it was ready"; fi
        ((SECONDS < deadline)) || { cat "$tmp/$name.out" >&2; die "$name not ready after ${limit}s"; }
        sleep 0.2
    done
    helper_pid=$pid
}

stop_helper() { # pid name -> prints DONE summary
    stop_pids 100 "$1"
    wait "$1" 2>/dev/null || true
    grep '^DONE' "$tmp/$2.out" | sed 's/^DONE //' || echo "no summary"
}

if ((idle_count > 0)); then
    for target in "${proxies[@]}"; do
        before=$(rss_kb "${pid_of[$target]}")
        start_helper "idle-$target" 300 python3 "$script_dir/idle_conns.py" --host "$HOST" \
            --port "$(port_of "$target")" --count "$idle_count"
        pid=$helper_pid
        ready=$(grep '^READY' "$tmp/idle-$target.out" | sed 's/^READY //')
        sleep 2 # let the proxy settle (freed upstream connections, trimmed buffers)
        after=$(rss_kb "${pid_of[$target]}")
        check_alive
        done_line=$(stop_helper "$pid" "idle-$target")
        log "idle $target: RSS $before -> $after KiB with $idle_count connections ($ready; $done_line)"
        printf 'idle\t%s\t%s\t%s\t%s\t%s\n' "$target" "$idle_count" "$before" "$after" "$ready; $done_line" >>"$records"
        sleep 1
        expect_200 "$target" "$(port_of "$target")"
    done
fi

if ((slowloris_count > 0)); then
    for target in "${proxies[@]}"; do
        measure "$target" "slowloris-without"
        rps0=$rps p990=$p99
        start_helper "slowloris-$target" 120 python3 "$script_dir/slowloris.py" --host "$HOST" \
            --port "$(port_of "$target")" --count "$slowloris_count" --interval "$SLOWLORIS_INTERVAL"
        pid=$helper_pid
        measure "$target" "slowloris-with"
        rps1=$rps p991=$p99
        summary=$(stop_helper "$pid" "slowloris-$target")
        log "slowloris $target: $rps0 -> $rps1 req/s, p99 $p990 -> $p991 ms ($summary)"
        printf 'slow\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$slowloris_count" "$rps0" "$p990" \
            "$rps1" "$p991" "$((non2xx + sockerr))" "$summary" >>"$records"
    done
fi

check_alive
if wants gateway; then
    printf 'startrss\tgateway-end\t%s\n' "$(rss_kb "${pid_of[gateway]}")" >>"$records"
fi
for target in gateway gateway-bare gateway-epoll; do
    wants "$target" || continue
    if [[ $target != gateway-bare ]]; then
        # The access log must keep up at full load: records written vs dropped, from the gateway's own metrics.
        scrape=$(curl -s "http://$HOST:$(($(port_of "$target") + 10))/metrics" || true)
        log "$target access log: $(grep -E '^gateway_access_log_(records|dropped)_total' <<<"$scrape" | tr '\n' ' ')"
    fi
    # The start line names the engine; auto falls back to epoll with one line naming the reason.
    log "$target: $(grep -o 'engine [a-z_]*' "$tmp/$target.log" | head -n 1)"
    if log_since_start "$target" | grep -q .; then
        log "$target wrote to its log during the run (kept in $tmp/$target.log):"
        log_since_start "$target" | tail -n 10 >&2
        keep_tmp=1
    fi
done

gateway_note=""
gateway_kinds=()
wants gateway && gateway_kinds+=("\`gateway\` with metrics and the zstd JSON access log on (shipped defaults, engine auto)")
wants gateway-bare && gateway_kinds+=("\`gateway-bare\` with both off")
wants gateway-epoll && gateway_kinds+=("\`gateway-epoll\` with both on and \`engine: epoll\`")
if ((${#gateway_kinds[@]})); then
    gateway_note=" Gateway $GATEWAY_BIN: $(printf '%s, ' "${gateway_kinds[@]}")"
    gateway_note="${gateway_note%, }."
fi
access_note="nginx access log $nginx_access_log"
[[ $nginx_access_log == on ]] && access_note+=" (combined format, to a file)"
{
    printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'meta\tmachine\t%s\n' "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)), all on loopback"
    targets_env=""
    [[ $TARGETS != "$DEFAULT_TARGETS" ]] && targets_env="TARGETS=\"$TARGETS\" "
    printf 'meta\tcommand\t%s\n' "${targets_env}WORKERS=$WORKERS THREADS=$THREADS CONNECTIONS=$CONNECTIONS DURATION=$DURATION ROUNDS=$ROUNDS $command_line"
    printf 'meta\tsettings\t%s\n' "Each proxy: $WORKERS worker(s), same nginx backend (1 worker, return 200), upstream keep-alive; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, targets alternating each round. CPU µs/request: user+system CPU time of all the target's processes during each round (from /proc/PID/stat) divided by the requests wrk completed in it, median over rounds. $access_note; HAProxy logs nothing.$gateway_note"
} >>"$records"

report_args=("$records")
[[ -n $markdown_file ]] && report_args+=(--markdown "$markdown_file")
python3 "$script_dir/report.py" "${report_args[@]}"
