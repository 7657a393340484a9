#!/usr/bin/env bash
# Whole-process proxy comparison: an nginx backend, then nginx, HAProxy and the gateway proxying to it,
# all with the same worker count, driven by wrk in alternating rounds; requests/s, p99 and CPU time per
# request of each target. Scenarios add API-key checks (all three), jwt-auth and limit-count (the gateway),
# limit-count with its counters in Redis, the gateway's per-plugin timing, 500 connections and TLS
# (keep-alive, a handshake per request, idle sessions). See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/run.sh [options]

Starts an nginx backend, nginx and HAProxy as reverse proxies and the gateway (same worker count,
same backend, all on 127.0.0.1), checks each answers 200, drives each with wrk in alternating
rounds and prints requests/s, p99 and CPU time per request (user+system of all the target's
processes over each round, divided by the requests wrk completed) with ratios to nginx.

Options:
  --scenario NAME          what to measure; repeat it or separate names with commas (default proxy):
                             proxy        the TARGETS, wrk -c CONNECTIONS; ratios to nginx
                             key-auth     nginx, HAProxy and the gateway (those in TARGETS), each plain
                                          and with an API-key check: nginx map + if, HAProxy ACL, the
                                          gateway's key-auth plugin; wrk sends "apikey: bench-key" to all;
                                          ratios check / plain of each (gateway target >= 0.95x)
                             jwt-auth     the gateway plain and with jwt-auth; wrk sends an HS256 token
                             limit-count  the gateway plain and with limit-count (one key, LIMIT_COUNT per
                                          60 s, never reached)
                             limit-redis  the same limit-count three ways in the same rounds: policy local
                                          (gateway-limitcount), policy redis (gateway-limitredis, one
                                          Redis call a request) and policy redis with redis.batch
                                          REDIS_BATCH (gateway-limitredisbatch, one call per lease);
                                          starts its own redis-server (--save "" --appendonly no) on
                                          REDIS_PORT; ratios redis / local, Redis calls per request
                                          (EVALSHA calls Redis served / requests wrk completed, and the
                                          gateway's gateway_rate_limit_backend_calls_total) and Redis's
                                          own CPU per request. Needs redis-server and redis-cli.
                             tracing      the gateway plain and with tracing (sampling_ratio 0.01: a trace
                                          started and a traceparent sent upstream on every request, 1% of
                                          them sampled and exported over OTLP/HTTP to
                                          Tests/Support/otlp_receiver.py); target >= 0.97x
                             plugin-timing
                                          the gateway with key-auth, limit-count and response-rewrite,
                                          metrics.plugin_timing off and on; wrk sends "apikey: bench-key"
                             stress       the TARGETS again with wrk -t STRESS_THREADS -c STRESS_CONNECTIONS
                             https        nginx, HAProxy and the gateway (those in TARGETS) terminating TLS
                                          with one ECDSA P-256 certificate made for the run, proxying to
                                          the same backend over plain HTTP; four parts, ratios to nginx:
                                            https           wrk over https, keep-alive
                                            https-close     wrk -H "Connection: close" (wrk offers its
                                                            last TLS session on every reconnect)
                                            https-full      bench/tls_connect.c, a new connection per
                                                            request, every handshake a full one
                                            https-resumed   the same client, each connection offering
                                                            the session the previous one ended with
                                          then HTTPS_IDLE_CONNECTIONS idle TLS connections per proxy
                                          (RSS per connection). Needs openssl, cc and libssl-dev.
                             h2           nginx, HAProxy and the gateway (those in TARGETS) speaking HTTP/2
                                          to the client, each stream proxied to the same backend over
                                          HTTP/1.1 keep-alive; h2load -c H2_CONNECTIONS -m H2_STREAMS;
                                          two parts, ratios to nginx (gateway target >= 1.0x):
                                            h2              over TLS (ALPN h2,http/1.1; the https
                                                            scenario's kind of certificate)
                                            h2c             clear text, prior knowledge
                                          Needs h2load (apt-get install nghttp2-client) and openssl.
                             websocket    WebSocket echo round trips: bench/ws_echo_latency.py, WS_CONNECTIONS
                                          connections each sending WS_SIZE-byte messages one after another
                                          for WS_DURATION (or WS_MESSAGES each), to
                                          Tests/Support/ws_echo_server.py directly (ws-direct, with backend
                                          in TARGETS) and through nginx, HAProxy and the gateway (route with
                                          enable_websocket: true); p50/p90/p99 round trip, messages/s.
                                          Needs python3-websockets for /usr/bin/python3.
                             all          all of the above, in that order
                           The auth targets must answer 200 with the credential and 401 without it (or
                           with a wrong one) before anything is measured.
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
  SCENARIOS=proxy (as --scenario)  STRESS_CONNECTIONS=500 STRESS_THREADS=$THREADS
  LIMIT_COUNT=67108863 (limit-count's count per 60 s window; the plugin's maximum)
  NGINX_KEYAUTH_PORT=18086 HAPROXY_KEYAUTH_PORT=18087 GATEWAY_KEYAUTH_PORT=18088 GATEWAY_JWT_PORT=18089
  GATEWAY_LIMITCOUNT_PORT=18091 GATEWAY_LIMITREDIS_PORT=18111 GATEWAY_LIMITREDISBATCH_PORT=18112
  GATEWAY_TRACING_PORT=18097 OTLP_PORT=18119 GATEWAY_PLUGINS_PORT=18093 GATEWAY_PLUGINTIMING_PORT=18096
  (the targets with the check or plugins; gateway control on port + 10)
  REDIS_PORT=18113 (the limit-redis scenario's redis-server)  REDIS_BATCH=100 (gateway-limitredisbatch's
  redis.batch: permits a worker leases per Redis call)
  NGINX_TLS_PORT=18441 GATEWAY_TLS_PORT=18442 HAPROXY_TLS_PORT=18443 (https; gateway control on 18452)
  HTTPS_CONNECTIONS=$CONNECTIONS (connections in flight in https-close, https-full and https-resumed)
  HTTPS_IDLE_CONNECTIONS=2000 (idle TLS connections held against each TLS proxy; 0 leaves it out)
  NGINX_H2_PORT=18461 GATEWAY_H2_PORT=18462 HAPROXY_H2_PORT=18463 (h2 over TLS; gateway control on 18472)
  NGINX_H2C_PORT=18464 GATEWAY_H2C_PORT=18465 HAPROXY_H2C_PORT=18466 (h2c; gateway control on 18475)
  H2_CONNECTIONS=10 H2_STREAMS=10 (h2load -c and -m; -t is THREADS, -D is DURATION)
  NGINX_WS_PORT=18481 GATEWAY_WS_PORT=18482 HAPROXY_WS_PORT=18483 (websocket; gateway control on 18492)
  WS_CONNECTIONS=4 WS_DURATION=5s WS_MESSAGES=0 (per connection; 0: until WS_DURATION) WS_SIZE=32 (bytes)
  WS_PYTHON=/usr/bin/python3 (runs the echo server and the client; needs python3-websockets)
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
SCENARIOS=${SCENARIOS:-proxy}
STRESS_CONNECTIONS=${STRESS_CONNECTIONS:-500}
STRESS_THREADS=${STRESS_THREADS:-$THREADS}
LIMIT_COUNT=${LIMIT_COUNT:-67108863}
NGINX_KEYAUTH_PORT=${NGINX_KEYAUTH_PORT:-18086}
HAPROXY_KEYAUTH_PORT=${HAPROXY_KEYAUTH_PORT:-18087}
GATEWAY_KEYAUTH_PORT=${GATEWAY_KEYAUTH_PORT:-18088}
GATEWAY_JWT_PORT=${GATEWAY_JWT_PORT:-18089}
GATEWAY_LIMITCOUNT_PORT=${GATEWAY_LIMITCOUNT_PORT:-18091}
GATEWAY_LIMITREDIS_PORT=${GATEWAY_LIMITREDIS_PORT:-18111}
GATEWAY_LIMITREDISBATCH_PORT=${GATEWAY_LIMITREDISBATCH_PORT:-18112}
REDIS_PORT=${REDIS_PORT:-18113}
REDIS_BATCH=${REDIS_BATCH:-100}
GATEWAY_TRACING_PORT=${GATEWAY_TRACING_PORT:-18097}
# Not 18099: that is gateway-jwt's control listener (18089 + 10).
OTLP_PORT=${OTLP_PORT:-18119}
TRACING_RATIO=${TRACING_RATIO:-0.01}
# 18092, 18094 and 18095 are control listeners (gateway, gateway-bare, gateway-epoll + 10).
GATEWAY_PLUGINS_PORT=${GATEWAY_PLUGINS_PORT:-18093}
GATEWAY_PLUGINTIMING_PORT=${GATEWAY_PLUGINTIMING_PORT:-18096}
NGINX_TLS_PORT=${NGINX_TLS_PORT:-18441}
GATEWAY_TLS_PORT=${GATEWAY_TLS_PORT:-18442}
HAPROXY_TLS_PORT=${HAPROXY_TLS_PORT:-18443}
HTTPS_CONNECTIONS=${HTTPS_CONNECTIONS:-$CONNECTIONS}
HTTPS_IDLE_CONNECTIONS=${HTTPS_IDLE_CONNECTIONS:-2000}
NGINX_H2_PORT=${NGINX_H2_PORT:-18461}
GATEWAY_H2_PORT=${GATEWAY_H2_PORT:-18462}
HAPROXY_H2_PORT=${HAPROXY_H2_PORT:-18463}
NGINX_H2C_PORT=${NGINX_H2C_PORT:-18464}
GATEWAY_H2C_PORT=${GATEWAY_H2C_PORT:-18465}
HAPROXY_H2C_PORT=${HAPROXY_H2C_PORT:-18466}
H2_CONNECTIONS=${H2_CONNECTIONS:-10}
H2_STREAMS=${H2_STREAMS:-10}
NGINX_WS_PORT=${NGINX_WS_PORT:-18481}
GATEWAY_WS_PORT=${GATEWAY_WS_PORT:-18482}
HAPROXY_WS_PORT=${HAPROXY_WS_PORT:-18483}
WS_CONNECTIONS=${WS_CONNECTIONS:-4}
WS_DURATION=${WS_DURATION:-5s}
WS_MESSAGES=${WS_MESSAGES:-0}
WS_SIZE=${WS_SIZE:-32}
# The websocket scenario's client and echo server need Debian's python3-websockets.
WS_PYTHON=${WS_PYTHON:-/usr/bin/python3}
# The credentials of the auth scenarios.
API_KEY=bench-key
JWT_KEY=bench-jwt
JWT_SECRET=bench-secret-0123456789abcdef

markdown_file=""
idle_count=0
slowloris_count=0
nginx_access_log=on
scenario_options=""
command_line="$0 $*"
while (($#)); do
    case "$1" in
        --scenario) scenario_options+=" ${2:?--scenario needs a name}"; shift 2 ;;
        --markdown) markdown_file=${2:?--markdown needs a file}; shift 2 ;;
        --idle-connections) idle_count=${2:?--idle-connections needs a count}; shift 2 ;;
        --slowloris) slowloris_count=${2:?--slowloris needs a count}; shift 2 ;;
        --no-access-log) nginx_access_log=off; shift ;;
        --keep-tmp) keep_tmp=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) unknown_option "$1" ;;
    esac
done

require_whole_numbers WORKERS THREADS CONNECTIONS ROUNDS idle_count slowloris_count MAX_RUNTIME \
    STRESS_CONNECTIONS STRESS_THREADS LIMIT_COUNT HTTPS_CONNECTIONS HTTPS_IDLE_CONNECTIONS REDIS_PORT REDIS_BATCH \
    H2_CONNECTIONS H2_STREAMS WS_CONNECTIONS WS_MESSAGES WS_SIZE
((WORKERS >= 1 && ROUNDS >= 1)) || die "WORKERS and ROUNDS must be at least 1"
for target in $TARGETS; do
    case "$target" in
        backend | nginx | haproxy | gateway | gateway-bare | gateway-epoll) ;;
        *) die "unknown target '$target' in TARGETS" ;;
    esac
done
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# Scenarios: --scenario wins over SCENARIOS; they run in this order whatever the order asked for.
ALL_SCENARIOS="proxy key-auth jwt-auth limit-count limit-redis tracing plugin-timing stress https h2 websocket"
# The https and h2 scenarios run as these parts, each with its own warm-up, rounds and table.
HTTPS_PARTS="https https-close https-full https-resumed"
H2_PARTS="h2 h2c"
[[ -n $scenario_options ]] && SCENARIOS=$scenario_options
read -ra asked <<<"${SCENARIOS//,/ }"
((${#asked[@]})) || die "no scenario given (SCENARIOS or --scenario)"
for scenario in "${asked[@]}"; do
    [[ " $ALL_SCENARIOS all " == *" $scenario "* ]] || die "unknown scenario '$scenario' (one of: $ALL_SCENARIOS all)"
done
asked_all=0
[[ " ${asked[*]} " == *" all "* ]] && asked_all=1

# The targets of a scenario, in the order they alternate. The plugin scenarios take those of nginx,
# haproxy and gateway that TARGETS names, each followed by its variant with the check or plugin.
scenario_targets() {
    local target
    case "$1" in
        proxy | stress) echo "$TARGETS" ;;
        key-auth)
            for target in nginx haproxy gateway; do
                if wants "$target"; then printf '%s %s-keyauth ' "$target" "$target"; fi
            done
            ;;
        jwt-auth) if wants gateway; then echo "gateway gateway-jwt"; fi ;;
        limit-count) if wants gateway; then echo "gateway gateway-limitcount"; fi ;;
        # The local policy is the reference the two redis variants are compared with.
        limit-redis) if wants gateway; then echo "gateway-limitcount gateway-limitredis gateway-limitredisbatch"; fi ;;
        tracing) if wants gateway; then echo "gateway gateway-tracing"; fi ;;
        # Both with the same three plugins; only metrics.plugin_timing differs (off is the plain one).
        plugin-timing) if wants gateway; then echo "gateway-plugins gateway-plugintiming"; fi ;;
        https | https-*)
            for target in nginx haproxy gateway; do
                if wants "$target"; then printf '%s-tls ' "$target"; fi
            done
            ;;
        h2 | h2c)
            for target in nginx haproxy gateway; do
                if wants "$target"; then printf '%s-%s ' "$target" "$1"; fi
            done
            ;;
        # The echo server directly (with backend in TARGETS, the baseline as backend is in proxy), then
        # each proxy in front of it.
        websocket)
            if wants backend; then printf 'ws-direct '; fi
            for target in nginx haproxy gateway; do
                if wants "$target"; then printf '%s-ws ' "$target"; fi
            done
            ;;
    esac
}
declare -A targets_of=()
run_scenarios=()
run_targets=""
for scenario in $ALL_SCENARIOS; do
    ((asked_all)) || [[ " ${asked[*]} " == *" $scenario "* ]] || continue
    list=$(scenario_targets "$scenario")
    if [[ -z ${list// /} ]]; then
        needs="gateway"
        [[ $scenario == key-auth || $scenario == https || $scenario == h2 ]] && needs="nginx, haproxy or gateway"
        [[ $scenario == websocket ]] && needs="backend, nginx, haproxy or gateway"
        ((asked_all)) || die "scenario $scenario has no target: it needs $needs in TARGETS"
        log "leaving out scenario $scenario: none of its targets is in TARGETS"
        continue
    fi
    parts=$scenario
    [[ $scenario == https ]] && parts=$HTTPS_PARTS
    [[ $scenario == h2 ]] && parts=$H2_PARTS
    for part in $parts; do
        # Each part's own targets (h2c's are not h2's).
        read -ra listed <<<"$(scenario_targets "$part")"
        targets_of[$part]=${listed[*]}
        run_scenarios+=("$part")
        for target in "${listed[@]}"; do
            [[ " $run_targets " == *" $target "* ]] || run_targets+="$target "
        done
    done
done
run_targets=${run_targets% }
# in_run TARGET: some scenario of this run measures TARGET (so it is started).
in_run() { [[ " $run_targets " == *" $1 "* ]]; }
has_scenario() { [[ " ${run_scenarios[*]} " == *" $1 "* ]]; }
only_proxy=0
[[ ${run_scenarios[*]} == proxy ]] && only_proxy=1

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
[[ $(seconds_of "$WS_DURATION") =~ ^[0-9]+$ && $(seconds_of "$WS_DURATION") -ge 1 ]] ||
    die "WS_DURATION must look like 5s, 1m or 5 (at least 1 s), got '$WS_DURATION'"
# How long each measured round of a scenario (part) runs: DURATION, WS_DURATION for websocket.
duration_of() { if [[ $1 == websocket ]]; then echo "$WS_DURATION"; else echo "$DURATION"; fi; }

# The watchdog stops the run after MAX_RUNTIME seconds, report or not: refuse a plan whose wrk time alone
# (every scenario's targets, warm-up and rounds) would not fit, instead of finding out at the end.
warmup_seconds=0
[[ $WARMUP != 0 && $WARMUP != 0s ]] && warmup_seconds=$(seconds_of "$WARMUP")
planned_seconds=0
for scenario in "${run_scenarios[@]}"; do
    count=$(wc -w <<<"${targets_of[$scenario]}")
    planned_seconds=$((planned_seconds + count * (ROUNDS * $(seconds_of "$(duration_of "$scenario")") + warmup_seconds)))
done
((planned_seconds + 30 <= MAX_RUNTIME)) ||
    die "the wrk rounds alone take about ${planned_seconds}s (scenarios: ${run_scenarios[*]}), more than MAX_RUNTIME=${MAX_RUNTIME}s allows; lower ROUNDS or DURATION, or raise MAX_RUNTIME"

if has_scenario stress; then
    # wrk gives each thread connections / threads connections and silently drops the remainder.
    ((STRESS_THREADS >= 1 && STRESS_THREADS <= STRESS_CONNECTIONS && STRESS_CONNECTIONS % STRESS_THREADS == 0)) ||
        die "STRESS_THREADS ($STRESS_THREADS) must be at least 1 and divide STRESS_CONNECTIONS ($STRESS_CONNECTIONS): wrk drops the remainder"
    # The gateway's limits.max_connections (per worker, Sources/Gateway/Config/LimitsConfig.swift) is left
    # at its default of 65536 in every config here; one worker may get all the connections.
    ((STRESS_CONNECTIONS <= 65536)) || die "STRESS_CONNECTIONS above 65536 needs the gateway's limits.max_connections raised"
fi
if has_scenario limit-count || has_scenario limit-redis || has_scenario plugin-timing; then
    # The plugin refuses a count above 2^26 - 1.
    ((LIMIT_COUNT >= 1 && LIMIT_COUNT <= 67108863)) || die "LIMIT_COUNT must be 1 to 67108863 (limit-count's maximum)"
fi
if has_scenario limit-redis; then
    # The plugin's redis.batch is 1 to 1,000,000 (RedisLimitPolicy.maximumBatch).
    ((REDIS_BATCH >= 1 && REDIS_BATCH <= 1000000)) || die "REDIS_BATCH must be 1 to 1000000 (redis.batch's range)"
    ((REDIS_PORT >= 1 && REDIS_PORT <= 65535)) || die "REDIS_PORT must be a TCP port"
fi

require nginx "apt-get install nginx"
require wrk "apt-get install wrk"
require curl "apt-get install curl"
require python3 "needed for the report and the connection helpers"
require timeout "coreutils"
require pgrep "procps"
require getconf "libc-bin"
{ in_run haproxy || in_run haproxy-tls; } && require haproxy "apt-get install haproxy"
if has_scenario https; then
    require openssl "apt-get install openssl"
    require cc "apt-get install gcc"
fi
if has_scenario h2 || has_scenario h2c; then
    require h2load "apt-get install nghttp2-client"
    ((H2_CONNECTIONS >= 1 && H2_STREAMS >= 1)) || die "H2_CONNECTIONS and H2_STREAMS must be at least 1"
    # h2load gives each thread connections / threads connections.
    ((H2_CONNECTIONS % THREADS == 0)) || die "THREADS ($THREADS) must divide H2_CONNECTIONS ($H2_CONNECTIONS) for h2load"
fi
has_scenario h2 && require openssl "apt-get install openssl"
if has_scenario websocket; then
    "$WS_PYTHON" -c 'import websockets' 2>/dev/null ||
        die "$WS_PYTHON cannot import websockets (apt-get install python3-websockets, or set WS_PYTHON)"
    ((WS_CONNECTIONS >= 1 && WS_SIZE >= 1)) || die "WS_CONNECTIONS and WS_SIZE must be at least 1"
fi
if has_scenario limit-redis; then
    require redis-server "apt-get install redis-server (scripts/deps)"
    require redis-cli "apt-get install redis-tools (scripts/deps)"
fi
if [[ " $run_targets" == *" gateway"* ]]; then
    [[ -x $GATEWAY_BIN ]] || die "gateway binary '$GATEWAY_BIN' is missing or not executable; build it with 'swift build -c release' or set GATEWAY_BIN"
fi

# Every connection is a descriptor in the client and in the proxy; raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
https_idle=0
has_scenario https && https_idle=$HTTPS_IDLE_CONNECTIONS
needed_fds=$((idle_count + slowloris_count + https_idle + CONNECTIONS + 600))
if has_scenario https && ((HTTPS_CONNECTIONS + 600 > needed_fds)); then needed_fds=$((HTTPS_CONNECTIONS + 600)); fi
max_connections=$CONNECTIONS
if has_scenario stress; then
    # wrk, and each proxy, holds STRESS_CONNECTIONS client connections, each proxy up to as many upstream
    # ones, and the backend as many from a proxy.
    ((2 * STRESS_CONNECTIONS + 600 > needed_fds)) && needed_fds=$((2 * STRESS_CONNECTIONS + 600))
    ((STRESS_CONNECTIONS > max_connections)) && max_connections=$STRESS_CONNECTIONS
fi
((fd_limit >= needed_fds)) || die "open-file limit $fd_limit is below the $needed_fds this run needs; lower --idle-connections (or STRESS_CONNECTIONS) or raise 'ulimit -Hn'"
# nginx counts client and upstream connections against worker_connections.
worker_connections=$((fd_limit - 100))
if has_scenario stress; then
    ((worker_connections >= 2 * STRESS_CONNECTIONS + 100)) ||
        die "nginx worker_connections $worker_connections is below the $((2 * STRESS_CONNECTIONS + 100)) STRESS_CONNECTIONS needs"
fi

# The temp dir, the traps that stop everything started on exit, and the MAX_RUNTIME watchdog.
bench_init /tmp/gateway-bench.XXXXXX "logs, configs and raw wrk output"
records=$tmp/records.tsv
: >"$records"
# The machine may be shared: the 1-minute load average at the start and the end goes into the report.
load_at_start=$(cut -d ' ' -f 1 /proc/loadavg)

port_of() {
    case "$1" in
        backend) echo "$BACKEND_PORT" ;; nginx) echo "$NGINX_PORT" ;;
        haproxy) echo "$HAPROXY_PORT" ;; gateway) echo "$GATEWAY_PORT" ;;
        gateway-bare) echo "$GATEWAY_BARE_PORT" ;; gateway-epoll) echo "$GATEWAY_EPOLL_PORT" ;;
        nginx-keyauth) echo "$NGINX_KEYAUTH_PORT" ;; haproxy-keyauth) echo "$HAPROXY_KEYAUTH_PORT" ;;
        gateway-keyauth) echo "$GATEWAY_KEYAUTH_PORT" ;; gateway-jwt) echo "$GATEWAY_JWT_PORT" ;;
        gateway-limitcount) echo "$GATEWAY_LIMITCOUNT_PORT" ;; gateway-tracing) echo "$GATEWAY_TRACING_PORT" ;;
        gateway-limitredis) echo "$GATEWAY_LIMITREDIS_PORT" ;; gateway-limitredisbatch) echo "$GATEWAY_LIMITREDISBATCH_PORT" ;;
        gateway-plugins) echo "$GATEWAY_PLUGINS_PORT" ;; gateway-plugintiming) echo "$GATEWAY_PLUGINTIMING_PORT" ;;
        nginx-tls) echo "$NGINX_TLS_PORT" ;; haproxy-tls) echo "$HAPROXY_TLS_PORT" ;;
        gateway-tls) echo "$GATEWAY_TLS_PORT" ;;
        nginx-h2) echo "$NGINX_H2_PORT" ;; haproxy-h2) echo "$HAPROXY_H2_PORT" ;; gateway-h2) echo "$GATEWAY_H2_PORT" ;;
        nginx-h2c) echo "$NGINX_H2C_PORT" ;; haproxy-h2c) echo "$HAPROXY_H2C_PORT" ;; gateway-h2c) echo "$GATEWAY_H2C_PORT" ;;
        nginx-ws) echo "$NGINX_WS_PORT" ;; haproxy-ws) echo "$HAPROXY_WS_PORT" ;; gateway-ws) echo "$GATEWAY_WS_PORT" ;;
        # The echo server takes a port the kernel chooses (ws_echo_server.py binds port 0).
        ws-direct) echo "${ws_echo_port:-}" ;;
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

for target in $run_targets; do
    [[ $target == ws-direct ]] && continue
    port_variable=${target^^}
    port_open "$(port_of "$target")" && die "$HOST:$(port_of "$target") ($target) is already in use; set ${port_variable//-/_}_PORT"
done
port_open "$BACKEND_PORT" && die "$HOST:$BACKEND_PORT (backend) is already in use; set BACKEND_PORT"
if has_scenario limit-redis && port_open "$REDIS_PORT"; then die "$HOST:$REDIS_PORT (redis) is already in use; set REDIS_PORT"; fi

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

# nginx with the API-key check: the key in the "apikey" header must be bench-key, else 401.
nginx_keyauth_access=off
[[ $nginx_access_log == on ]] && nginx_keyauth_access="$tmp/nginx-keyauth-access.log combined"
{
    nginx_conf_head nginx-keyauth "$WORKERS" "$worker_connections" "$fd_limit" "$nginx_keyauth_access"
    echo "    map \$http_apikey \$key_ok { default 0; \"$API_KEY\" 1; }"
    nginx_proxy_http "$NGINX_KEYAUTH_PORT" "$BACKEND_PORT" "if (\$key_ok = 0) { return 401; }"
} >"$tmp/nginx-keyauth.conf"

# HAProxy reserves two descriptors per maxconn and refuses to start when the hard limit is lower;
# "no strict-limits" lets it run with what this run actually needs (one per client connection,
# plus the few upstream ones).
haproxy_maxconn=$((idle_count + slowloris_count + https_idle + max_connections + 512))
((haproxy_maxconn >= 4096)) || haproxy_maxconn=4096
haproxy_cfg() { # PORT [FRONTEND_LINE [BIND_OPTIONS]]
    cat <<EOF
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
    bind $HOST:$1${3:+ $3}
EOF
    if [[ -n ${2:-} ]]; then echo "    $2"; fi
    cat <<EOF
    default_backend backend
backend backend
    server node1 $HOST:$BACKEND_PORT
EOF
}
haproxy_cfg "$HAPROXY_PORT" >"$tmp/haproxy.cfg"
# HAProxy with the API-key check, as an ACL on the header.
haproxy_cfg "$HAPROXY_KEYAUTH_PORT" "http-request deny deny_status 401 unless { req.hdr(apikey) -m str $API_KEY }" \
    >"$tmp/haproxy-keyauth.cfg"

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

# The plugin variants: the shipped defaults (as `gateway`, their plain counterpart) on their own port,
# control port and access log, with the plugin (or, one a line, the plugins) on the route. gateway_yaml
# prints the route last, so the indented "plugins:" continues it; the consumers follow as a top-level key.
gateway_variant() { # NAME PORT ROUTE_PLUGINS [CONSUMER_PLUGIN]
    local plugin
    sed -e "s#$HOST:$GATEWAY_PORT#$HOST:$2#" -e "s#$HOST:$((GATEWAY_PORT + 10))#$HOST:$(($2 + 10))#" \
        -e "s#$tmp/gateway-logs/#$tmp/$1-logs/#" "$tmp/gateway.yaml"
    echo '    plugins:'
    while IFS= read -r plugin; do echo "      $plugin"; done <<<"$3"
    if [[ -n ${4:-} ]]; then printf 'consumers:\n  - username: bench\n    plugins:\n      %s\n' "$4"; fi
}
gateway_variant gateway-keyauth "$GATEWAY_KEYAUTH_PORT" "key-auth: {}" "key-auth: {key: $API_KEY}" \
    >"$tmp/gateway-keyauth.yaml"
gateway_variant gateway-jwt "$GATEWAY_JWT_PORT" "jwt-auth: {}" \
    "jwt-auth: {key: $JWT_KEY, secret: $JWT_SECRET, algorithm: HS256}" >"$tmp/gateway-jwt.yaml"
gateway_variant gateway-limitcount "$GATEWAY_LIMITCOUNT_PORT" \
    "limit-count: {count: $LIMIT_COUNT, time_window: 60, key: remote_addr, policy: local}" >"$tmp/gateway-limitcount.yaml"
# The same limit with its counter in Redis: one EVALSHA a request, or with redis.batch one per lease of
# REDIS_BATCH permits. on_error deny: a failed Redis call answers 503 (non-2xx in wrk) instead of falling
# back to a local count, which would measure the local policy under the redis variant's name.
redis_limit() { # EXTRA_REDIS_KEYS
    echo "limit-count: {count: $LIMIT_COUNT, time_window: 60, key: remote_addr, policy: redis, redis: {host: \"$HOST\", port: $REDIS_PORT, timeout: 1, on_error: deny$1}}"
}
gateway_variant gateway-limitredis "$GATEWAY_LIMITREDIS_PORT" "$(redis_limit "")" >"$tmp/gateway-limitredis.yaml"
gateway_variant gateway-limitredisbatch "$GATEWAY_LIMITREDISBATCH_PORT" "$(redis_limit ", batch: $REDIS_BATCH")" \
    >"$tmp/gateway-limitredisbatch.yaml"
# Tracing: the shipped defaults on their own port, plus a tracing section exporting to the test receiver.
{
    sed -e "s#$HOST:$GATEWAY_PORT#$HOST:$GATEWAY_TRACING_PORT#" \
        -e "s#$HOST:$((GATEWAY_PORT + 10))#$HOST:$((GATEWAY_TRACING_PORT + 10))#" \
        -e "s#$tmp/gateway-logs/#$tmp/gateway-tracing-logs/#" "$tmp/gateway.yaml"
    if [[ ${TRACING_EXPORT:-1} == 1 ]]; then
        echo "tracing: {sampling_ratio: $TRACING_RATIO, otlp: {endpoint: \"http://$HOST:$OTLP_PORT/v1/traces\"}}"
    else
        echo "tracing: {sampling_ratio: $TRACING_RATIO}"
    fi
} >"$tmp/gateway-tracing.yaml"

# The plugin-timing pair: the same three plugins on the route, metrics.plugin_timing off (the default,
# written out) and on. gateway_yaml writes the metrics section as one flow mapping on one line
# ("metrics: {enabled: true}"); the key goes into it, as a second "metrics:" key would be a duplicate.
timing_plugins="key-auth: {}
limit-count: {count: $LIMIT_COUNT, time_window: 60, key: remote_addr, policy: local}
response-rewrite: {headers: {set: {X-Bench: \"1\"}}}"
add_metrics_key() { # NAME KEY_VALUE: adds KEY_VALUE to the metrics mapping of $tmp/NAME.yaml
    local file="$tmp/$1.yaml"
    sed -i -e "s#^metrics: {\(.*\)}\$#metrics: {\1, $2}#" "$file"
    if [[ $(grep -c '^metrics:' "$file") != 1 ]] || ! grep -qxF "metrics: {enabled: true, $2}" "$file"; then
        die "could not add '$2' to the metrics section of $file (has gateway_yaml in bench/lib.sh changed?)"
    fi
}
gateway_variant gateway-plugins "$GATEWAY_PLUGINS_PORT" "$timing_plugins" "key-auth: {key: $API_KEY}" \
    >"$tmp/gateway-plugins.yaml"
add_metrics_key gateway-plugins "plugin_timing: false"
gateway_variant gateway-plugintiming "$GATEWAY_PLUGINTIMING_PORT" "$timing_plugins" "key-auth: {key: $API_KEY}" \
    >"$tmp/gateway-plugintiming.yaml"
add_metrics_key gateway-plugintiming "plugin_timing: true"

# The https scenario: one ECDSA P-256 certificate (self-signed, made here with the openssl CLI) for all
# three proxies, TLS 1.2 and 1.3, the same TLS 1.3 suites in the same order with the server's preference
# (the gateway's defaults, as nginx and HAProxy get its other defaults); each proxies to the backend over
# plain HTTP with the same keep-alive settings as its plain twin.
tls_dir=$tmp/tls
tls_suites="TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
if has_scenario https || has_scenario h2; then
    mkdir -p "$tls_dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj "/CN=bench.local" -addext "subjectAltName=DNS:bench.local,IP:$HOST" \
        -keyout "$tls_dir/bench.key" -out "$tls_dir/bench.crt" >"$tls_dir/openssl.log" 2>&1 ||
        { cat "$tls_dir/openssl.log" >&2; die "openssl could not make the benchmark certificate"; }
    cat "$tls_dir/bench.crt" "$tls_dir/bench.key" >"$tls_dir/bench.pem" # HAProxy wants both in one file
fi
if has_scenario https; then
    # The client for a new connection per request (wrk and h2load resume sessions when they reconnect).
    tls_connect_bin=$tmp/tls_connect
    cc -O2 -o "$tls_connect_bin" "$script_dir/tls_connect.c" -lssl -lcrypto 2>"$tmp/tls_connect.build.log" ||
        { cat "$tmp/tls_connect.build.log" >&2; die "could not build bench/tls_connect.c (apt-get install gcc libssl-dev)"; }
fi

# nginx: the plain proxy plus TLS in the http block; shared session cache and tickets (on by default;
# without ssl_session_ticket_key the master makes the ticket keys once, so every worker shares them).
nginx_tls_access=off
[[ $nginx_access_log == on ]] && nginx_tls_access="$tmp/nginx-tls-access.log combined"
{
    nginx_conf_head nginx-tls "$WORKERS" "$worker_connections" "$fd_limit" "$nginx_tls_access"
    cat <<EOF
    ssl_certificate $tls_dir/bench.crt;
    ssl_certificate_key $tls_dir/bench.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_conf_command Ciphersuites $tls_suites;
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
EOF
    nginx_proxy_http "$NGINX_TLS_PORT ssl" "$BACKEND_PORT"
} >"$tmp/nginx-tls.conf"

# HAProxy: the plain proxy with "ssl crt" on the bind line; its session cache (tune.ssl.cachesize 20000,
# shared by the threads) and tickets are on by default; it prefers its own cipher order by default.
haproxy_cfg "$HAPROXY_TLS_PORT" "" "ssl crt $tls_dir/bench.pem ssl-min-ver TLSv1.2 ciphersuites $tls_suites" \
    >"$tmp/haproxy-tls.cfg"

# The gateway: the shipped defaults (as `gateway`) on a TLS listener with one ssls entry, also the default
# for any SNI; tls.* at its defaults (TLS 1.2 and 1.3, tickets shared by the workers plus a session cache,
# kTLS where the kernel has the tls ULP).
{
    sed -e "s#^listen:.*#listen: [{address: \"$HOST:$GATEWAY_TLS_PORT\", tls: true}]#" \
        -e "s#$HOST:$((GATEWAY_PORT + 10))#$HOST:$((GATEWAY_TLS_PORT + 10))#" \
        -e "s#$tmp/gateway-logs/#$tmp/gateway-tls-logs/#" "$tmp/gateway.yaml"
    cat <<EOF
ssls:
  - id: bench
    snis: ["bench.local"]
    cert_file: "$tls_dir/bench.crt"
    key_file: "$tls_dir/bench.key"
tls: {default_ssl: bench}
EOF
} >"$tmp/gateway-tls.yaml"

# The h2 scenario: each TLS proxy above again on its own port, offering HTTP/2 by ALPN (h2, http/1.1),
# and a clear-text twin taking h2c with prior knowledge; every stream goes to the backend over the same
# HTTP/1.1 keep-alive upstream as the plain proxy's. nginx 1.22 takes "http2" as a listen parameter (1.25.1
# made it the "http2 on;" directive); its keepalive_requests (100000) caps the streams of an HTTP/2
# connection too (http2_max_requests is gone since 1.19.7), far above what a round sends on one.
nginx_h2_access=off nginx_h2c_access=off
if [[ $nginx_access_log == on ]]; then
    nginx_h2_access="$tmp/nginx-h2-access.log combined" nginx_h2c_access="$tmp/nginx-h2c-access.log combined"
fi
{
    nginx_conf_head nginx-h2 "$WORKERS" "$worker_connections" "$fd_limit" "$nginx_h2_access"
    cat <<EOF
    ssl_certificate $tls_dir/bench.crt;
    ssl_certificate_key $tls_dir/bench.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_conf_command Ciphersuites $tls_suites;
    ssl_prefer_server_ciphers on;
    ssl_session_cache shared:SSL:10m;
    ssl_session_tickets on;
EOF
    nginx_proxy_http "$NGINX_H2_PORT ssl http2" "$BACKEND_PORT"
} >"$tmp/nginx-h2.conf"
{
    nginx_conf_head nginx-h2c "$WORKERS" "$worker_connections" "$fd_limit" "$nginx_h2c_access"
    nginx_proxy_http "$NGINX_H2C_PORT http2" "$BACKEND_PORT"
} >"$tmp/nginx-h2c.conf"
# HAProxy: ALPN on the TLS bind line; "proto h2" makes a clear-text bind take h2c with prior knowledge.
haproxy_cfg "$HAPROXY_H2_PORT" "" "ssl crt $tls_dir/bench.pem ssl-min-ver TLSv1.2 ciphersuites $tls_suites alpn h2,http/1.1" \
    >"$tmp/haproxy-h2.cfg"
haproxy_cfg "$HAPROXY_H2C_PORT" "" "proto h2" >"$tmp/haproxy-h2c.cfg"
# The gateway: as gateway-tls with http2: true on the listener (ALPN h2,http/1.1), and the shipped
# defaults on a clear-text listener with http2: true (h2c with prior knowledge, HTTP/1.1 as well).
sed -e "s#^listen:.*#listen: [{address: \"$HOST:$GATEWAY_H2_PORT\", tls: true, http2: true}]#" \
    -e "s#$HOST:$((GATEWAY_TLS_PORT + 10))#$HOST:$((GATEWAY_H2_PORT + 10))#" \
    -e "s#$tmp/gateway-tls-logs/#$tmp/gateway-h2-logs/#" "$tmp/gateway-tls.yaml" >"$tmp/gateway-h2.yaml"
sed -e "s#^listen:.*#listen: [{address: \"$HOST:$GATEWAY_H2C_PORT\", http2: true}]#" \
    -e "s#$HOST:$((GATEWAY_PORT + 10))#$HOST:$((GATEWAY_H2C_PORT + 10))#" \
    -e "s#$tmp/gateway-logs/#$tmp/gateway-h2c-logs/#" "$tmp/gateway.yaml" >"$tmp/gateway-h2c.yaml"

# The websocket scenario's proxies are configured once the echo server has its port (ws_configs, below).
# nginx: the plain proxy's client settings, Upgrade and Connection passed on as nginx's documentation
# has it; HAProxy: the plain proxy's config (it tunnels an upgrade by itself in mode http); the gateway:
# the shipped defaults (as `gateway`) with enable_websocket on the route.
ws_configs() { # ECHO_PORT
    local echo_port=$1 access=off
    [[ $nginx_access_log == on ]] && access="$tmp/nginx-ws-access.log combined"
    {
        nginx_conf_head nginx-ws "$WORKERS" "$worker_connections" "$fd_limit" "$access"
        cat <<EOF
    keepalive_timeout 75s;
    client_header_timeout 10s;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen $HOST:$NGINX_WS_PORT;
        location / {
            proxy_pass http://$HOST:$echo_port;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 75s;
        }
    }
}
EOF
    } >"$tmp/nginx-ws.conf"
    haproxy_cfg "$HAPROXY_WS_PORT" | sed -e "s#server node1 $HOST:$BACKEND_PORT#server node1 $HOST:$echo_port#" >"$tmp/haproxy-ws.cfg"
    {
        gateway_yaml "$WORKERS" "$GATEWAY_WS_PORT" "$((GATEWAY_WS_PORT + 10))" "$echo_port" \
            "{enabled: true, path: \"$tmp/gateway-ws-logs/access.log.zst\", format: json}"
        echo "    enable_websocket: true"
    } >"$tmp/gateway-ws.yaml"
}

# mint_jwt SECRET EXP: an HS256 token (header {"alg":"HS256","typ":"JWT"}) for {"key": JWT_KEY, "exp": EXP}.
mint_jwt() {
    python3 - "$JWT_KEY" "$1" "$2" <<'EOF'
import base64, hashlib, hmac, json, sys
key, secret, exp = sys.argv[1], sys.argv[2], int(sys.argv[3])
part = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
compact = lambda value: json.dumps(value, separators=(",", ":")).encode()
signed = part(compact({"alg": "HS256", "typ": "JWT"})) + "." + part(compact({"key": key, "exp": exp}))
print(signed + "." + part(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()))
EOF
}
if in_run gateway-jwt; then
    now=$(date +%s)
    jwt_token=$(mint_jwt "$JWT_SECRET" $((now + 10 * 365 * 86400)))        # valid for ten years
    jwt_bad_signature=$(mint_jwt "not-$JWT_SECRET" $((now + 10 * 365 * 86400)))
    jwt_expired=$(mint_jwt "$JWT_SECRET" $((now - 3600)))
fi

# The targets with a check must refuse what they should refuse: a configuration that let every request
# through would measure a proxy without its check. Each answers 200 with the credential wrk sends.
expect_check_statuses() { # TARGET
    local target=$1 port headers header before after calls
    port=$(port_of "$target")
    case "$target" in
        *-keyauth)
            expect_status "$target" "$port" 200 -H "apikey: $API_KEY"
            expect_status "$target" "$port" 401
            expect_status "$target" "$port" 401 -H "apikey: wrong-$API_KEY"
            ;;
        gateway-jwt)
            expect_status "$target" "$port" 200 -H "Authorization: Bearer $jwt_token"
            expect_status "$target" "$port" 401
            expect_status "$target" "$port" 401 -H "Authorization: Bearer $jwt_bad_signature"
            expect_status "$target" "$port" 401 -H "Authorization: Bearer $jwt_expired"
            ;;
        gateway-tracing)
            expect_200 "$target" "$port"
            ;;
        gateway-limitcount)
            expect_200 "$target" "$port"
            headers=$(curl -s -D - -o /dev/null --max-time "$bench_curl_max_time" "http://$HOST:$port/") || true
            grep -qiE "^x-ratelimit-limit: $LIMIT_COUNT\b" <<<"$headers" || {
                failed=1
                die "$target answered without 'X-RateLimit-Limit: $LIMIT_COUNT', is limit-count on? Headers: $(tr -d '\r' <<<"$headers" | tr '\n' ' ')"
            }
            ;;
        gateway-limitredis | gateway-limitredisbatch)
            # Its first request must reach Redis: a gw:lc:* key appears (or, when another variant shares
            # the counter, changes), and the gateway counts the call it made.
            before=$(redis_counters)
            expect_200 "$target" "$port"
            headers=$(curl -s -D - -o /dev/null --max-time "$bench_curl_max_time" "http://$HOST:$port/") || true
            for header in "limit: $LIMIT_COUNT" "remaining: [0-9]+" "reset: [0-9]+"; do
                grep -qiE "^x-ratelimit-$header\b" <<<"$headers" || {
                    failed=1
                    die "$target answered without 'X-RateLimit-$header', is limit-count on? Headers: $(tr -d '\r' <<<"$headers" | tr '\n' ' ')"
                }
            done
            after=$(redis_counters)
            if [[ -z $after || $after == "$before" ]]; then
                failed=1
                die "$target: no gw:lc:* key in Redis appeared or changed after two requests (before: '$before', after: '$after'); is policy redis on? (log: $tmp/$target.log)"
            fi
            # The counter is the workers' own; a few tries, 0.3 s apart, in case a scrape runs ahead of it.
            for _ in 1 2 3 4 5; do
                calls=$(backend_calls "$target")
                [[ -n $calls ]] && ((calls > 0)) && break
                sleep 0.3
            done
            if [[ -z $calls ]] || ((calls == 0)); then
                failed=1
                die "$target: gateway_rate_limit_backend_calls_total is '$calls' after two requests"
            fi
            log "$target: X-RateLimit-* headers; Redis keys after its first requests: $(tr '\n' ' ' <<<"$after"); backend calls $calls"
            ;;
        gateway-plugins | gateway-plugintiming)
            # One request with the key, then the timing series: the timed variant must have observed
            # key-auth's rewrite, the untimed one must not (else both would measure the same thing).
            expect_status "$target" "$port" 200 -H "apikey: $API_KEY"
            expect_plugin_timing "$target"
            expect_status "$target" "$port" 401
            expect_status "$target" "$port" 401 -H "apikey: wrong-$API_KEY"
            # All three plugins are on the route: limit-count's and response-rewrite's headers.
            headers=$(curl -s -D - -o /dev/null --max-time "$bench_curl_max_time" -H "apikey: $API_KEY" "http://$HOST:$port/") || true
            if ! grep -qiE "^x-ratelimit-limit: $LIMIT_COUNT\b" <<<"$headers" || ! grep -qiE '^x-bench: 1\b' <<<"$headers"; then
                failed=1
                die "$target answered without 'X-RateLimit-Limit: $LIMIT_COUNT' and 'X-Bench: 1', are limit-count and response-rewrite on? Headers: $(tr -d '\r' <<<"$headers" | tr '\n' ' ')"
            fi
            ;;
    esac
}

# redis_cli ARG...: redis-cli against the scenario's redis-server, without the \r of its raw output.
redis_cli() { redis-cli -h "$HOST" -p "$REDIS_PORT" "$@" | tr -d '\r'; }
# redis_counters: every gw:lc:* key in Redis with its value, "KEY=VALUE" a line, sorted.
redis_counters() {
    local key
    for key in $(redis_cli --scan --pattern 'gw:lc:*' | sort); do
        echo "$key=$(redis_cli get "$key")"
    done
}
# permits_taken BEFORE AFTER: how far Redis's counters (two redis_counters snapshots) went down between
# them, the permits taken; -1 when a window ended or started in between (a key gone, new or gone up).
permits_taken() {
    awk -F= '$1 == "" { next } NR == FNR { before[$1] = $2; next }
        { if (!($1 in before) || $2 > before[$1]) reset = 1; else { taken += before[$1] - $2; seen[$1] = 1 } }
        END { for (key in before) if (!(key in seen)) reset = 1; print reset ? -1 : taken + 0 }' \
        <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}
# redis_script_calls: "CALLS USEC", the script calls Redis has served (EVALSHA, plus EVAL: the fallback
# after NOSCRIPT) and the microseconds it spent in them, from INFO commandstats (since start; rounds take
# differences, so nothing is reset).
redis_script_calls() {
    redis_cli info commandstats | awk -F '[:=,]' '$1 == "cmdstat_evalsha" || $1 == "cmdstat_eval" { calls += $3; usec += $5 }
        END { printf "%d %d\n", calls, usec }'
}
# backend_calls TARGET: the gateway's gateway_rate_limit_backend_calls_total (all plugins) from its control
# listener (port + 10), "" when /metrics does not answer.
backend_calls() {
    local scrape
    scrape=$(curl -sf --max-time "$bench_curl_max_time" "http://$HOST:$(($(port_of "$1") + 10))/metrics") || return 0
    awk '$1 ~ /^gateway_rate_limit_backend_calls_total([{]|$)/ { calls += $2 } END { printf "%d\n", calls }' <<<"$scrape"
}
is_redis_target() { [[ $1 == gateway-limitredis || $1 == gateway-limitredisbatch ]]; }

# The series the plugin-timing check reads: key-auth's rewrite phase, observed once per request it sees.
timing_series='gateway_plugin_duration_seconds_count{plugin="key-auth",phase="rewrite"}'
# timing_count TARGET: the count of timing_series on TARGET's control listener (port + 10), 0 when it is
# missing; fails when /metrics does not answer.
timing_count() {
    local scrape
    scrape=$(curl -sf --max-time "$bench_curl_max_time" "http://$HOST:$(($(port_of "$1") + 10))/metrics") || return 1
    awk -v series="$timing_series" '$1 == series { count += $2 } END { printf "%d\n", count }' <<<"$scrape"
}
# expect_plugin_timing TARGET: after a request, gateway-plugintiming must count key-auth's rewrite (a few
# tries, 0.3 s apart) and gateway-plugins must not have the series with a nonzero count.
expect_plugin_timing() {
    local target=$1 count=""
    for _ in 1 2 3 4 5; do
        count=$(timing_count "$target") || { failed=1; die "$target: no /metrics on $HOST:$(($(port_of "$target") + 10))"; }
        [[ $target == gateway-plugintiming && $count == 0 ]] || break
        sleep 0.3
    done
    if [[ $target == gateway-plugintiming ]] && ((count == 0)); then
        failed=1
        die "$target: $timing_series is missing or 0 after a request; is metrics.plugin_timing on? ($tmp/$target.yaml)"
    fi
    if [[ $target == gateway-plugins ]] && ((count > 0)); then
        failed=1
        die "$target: $timing_series is $count with metrics.plugin_timing off ($tmp/$target.yaml)"
    fi
    log "$target: $timing_series $count after one request"
}

scenario_note=""
((only_proxy)) || scenario_note="; scenarios: ${run_scenarios[*]}"
log "temp dir $tmp; workers=$WORKERS wrk -t$THREADS -c$CONNECTIONS -d$DURATION rounds=$ROUNDS; open-file limit $fd_limit$scenario_note"
start backend "$BACKEND_PORT" nginx -p "$tmp" -e "$tmp/backend.error.log" -c "$tmp/backend.conf"
expect_200 backend "$BACKEND_PORT"
if in_run gateway; then
    start gateway "$GATEWAY_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway.yaml"
    # Sampled before any request reaches it: the idle footprint of a fresh gateway.
    sleep 0.5
    printf 'startrss\tgateway\t%s\n' "$(rss_kb "${pid_of[gateway]}")" >>"$records"
    expect_200 gateway "$GATEWAY_PORT"
    mark_log gateway
fi
if in_run gateway-bare; then
    start gateway-bare "$GATEWAY_BARE_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-bare.yaml"
    expect_200 gateway-bare "$GATEWAY_BARE_PORT"
    mark_log gateway-bare
fi
if in_run gateway-epoll; then
    start gateway-epoll "$GATEWAY_EPOLL_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-epoll.yaml"
    expect_200 gateway-epoll "$GATEWAY_EPOLL_PORT"
    mark_log gateway-epoll
fi
if in_run gateway-tracing; then
    # The OTLP receiver the tracing variant exports to (decodes every request with opentelemetry-proto).
    start otlp-receiver "$OTLP_PORT" python3 "$repo_root/Tests/Support/otlp_receiver.py" --port "$OTLP_PORT" \
        --port-file "$tmp/otlp.port" --out "$tmp/otlp.jsonl" --count-only
fi
if has_scenario limit-redis; then
    # Nothing written to disk; the log goes to $tmp/redis.log. Stopped on exit with everything `start` started.
    start redis "$REDIS_PORT" redis-server --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "$tmp" --daemonize no
    [[ $(redis_cli ping) == PONG ]] || { failed=1; die "redis-server on $HOST:$REDIS_PORT does not answer PING (log: $tmp/redis.log)"; }
    log "redis: $(redis-server --version | head -n 1) on $HOST:$REDIS_PORT, pid ${pid_of[redis]}"
fi
for target in gateway-keyauth gateway-jwt gateway-limitcount gateway-limitredis gateway-limitredisbatch gateway-tracing \
    gateway-plugins gateway-plugintiming; do
    in_run "$target" || continue
    start "$target" "$(port_of "$target")" "$GATEWAY_BIN" run --config "$tmp/$target.yaml"
    expect_check_statuses "$target"
    mark_log "$target"
done
if in_run nginx; then
    start nginx "$NGINX_PORT" nginx -p "$tmp" -e "$tmp/nginx.error.log" -c "$tmp/nginx.conf"
    expect_200 nginx "$NGINX_PORT"
fi
if in_run nginx-keyauth; then
    start nginx-keyauth "$NGINX_KEYAUTH_PORT" nginx -p "$tmp" -e "$tmp/nginx-keyauth.error.log" -c "$tmp/nginx-keyauth.conf"
    expect_check_statuses nginx-keyauth
fi
if in_run haproxy; then
    start haproxy "$HAPROXY_PORT" haproxy -db -f "$tmp/haproxy.cfg"
    expect_200 haproxy "$HAPROXY_PORT"
fi
if in_run haproxy-keyauth; then
    start haproxy-keyauth "$HAPROXY_KEYAUTH_PORT" haproxy -db -f "$tmp/haproxy-keyauth.cfg"
    expect_check_statuses haproxy-keyauth
fi
# The TLS targets: each must answer 200 over TLS 1.3 and over TLS 1.2 (curl) and resume a session
# (tls_connect: three connections one after another, each offering the previous one's session); what
# each negotiates with the clients' defaults (wrk and tls_connect use the same OpenSSL) goes in the report.
declare -A negotiated_of=() resumed_of=()
expect_tls() { # TARGET
    local target=$1 port version code out
    port=$(port_of "$target")
    for version in 1.3 1.2; do
        code=$(curl -sk -o "$tmp/$target.curl-body" -w '%{http_code}' --max-time "$bench_curl_max_time" \
            --tlsv"$version" --tls-max "$version" "https://$HOST:$port/") || true
        [[ $code == 200 ]] || { failed=1; die "$target on $HOST:$port answered '$code' over TLS $version instead of 200 (log: $tmp/$target.log)"; }
    done
    # A client that uses each session once (OpenSSL's, wrk's, browsers') resumes every connection only
    # when the server sends a fresh ticket after each resumption; 1 of 3 means it does not.
    out=$("$tls_connect_bin" -h "$HOST" -p "$port" -c 1 -n 3 --resume 2>&1) || true
    resumed_of[$target]=$(sed -n 's/^Resumed: //p' <<<"$out")
    if [[ -z ${resumed_of[$target]} || ${resumed_of[$target]} == "0 of "* ]]; then
        failed=1
        die "$target on $HOST:$port did not resume a TLS session: $(tr '\n' ' ' <<<"$out")"
    fi
    negotiated_of[$target]=$(sed -n 's/^Negotiated: //p' <<<"$out")
    log "$target: 200 over TLS 1.3 and 1.2; negotiates ${negotiated_of[$target]}; three connections in a row, each offering the last session: ${resumed_of[$target]} resumed"
}
if in_run gateway-tls; then
    start gateway-tls "$GATEWAY_TLS_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-tls.yaml"
    expect_tls gateway-tls
    mark_log gateway-tls
fi
if in_run nginx-tls; then
    start nginx-tls "$NGINX_TLS_PORT" nginx -p "$tmp" -e "$tmp/nginx-tls.error.log" -c "$tmp/nginx-tls.conf"
    expect_tls nginx-tls
fi
if in_run haproxy-tls; then
    start haproxy-tls "$HAPROXY_TLS_PORT" haproxy -db -f "$tmp/haproxy-tls.cfg"
    expect_tls haproxy-tls
fi
# The h2 targets: each must answer 200 over HTTP/2 (curl --http2 over TLS, where ALPN must pick h2;
# --http2-prior-knowledge in clear text) before anything is measured.
expect_h2() { # TARGET
    local target=$1 port out="" scheme=https args=(--http2 -k)
    port=$(port_of "$target")
    if [[ $target == *-h2c ]]; then scheme=http args=(--http2-prior-knowledge); fi
    for _ in 1 2 3 4 5; do
        out=$(curl -s -o "$tmp/$target.curl-body" -w '%{http_code} %{http_version}' --max-time "$bench_curl_max_time" \
            "${args[@]}" "$scheme://$HOST:$port/") || true
        [[ $out == "200 2" ]] && break
        sleep 0.3
    done
    if [[ $out != "200 2" ]]; then
        failed=1
        die "$target on $HOST:$port answered '$out' (status, HTTP version) to curl ${args[*]} instead of '200 2' (log: $tmp/$target.log)"
    fi
    log "$target: 200 over HTTP/2 (curl ${args[*]})"
}
for target in gateway-h2 gateway-h2c; do
    in_run "$target" || continue
    start "$target" "$(port_of "$target")" "$GATEWAY_BIN" run --config "$tmp/$target.yaml"
    expect_h2 "$target"
    mark_log "$target"
done
for target in nginx-h2 nginx-h2c; do
    in_run "$target" || continue
    start "$target" "$(port_of "$target")" nginx -p "$tmp" -e "$tmp/$target.error.log" -c "$tmp/$target.conf"
    expect_h2 "$target"
done
for target in haproxy-h2 haproxy-h2c; do
    in_run "$target" || continue
    start "$target" "$(port_of "$target")" haproxy -db -f "$tmp/$target.cfg"
    expect_h2 "$target"
done

# The websocket targets: the echo server (Tests/Support/ws_echo_server.py; it binds a port the kernel
# chooses and writes it to --port-file), then the proxies in front of it. Each must echo 20 messages on
# one connection before anything is measured.
expect_ws() { # TARGET
    local target=$1 out
    out=$(timeout --kill-after=2 15 "$WS_PYTHON" "$script_dir/ws_echo_latency.py" --url "ws://$HOST:$(port_of "$target")/echo" \
        --size "$WS_SIZE" --connections 1 --messages 20 --duration 5 2>&1) || true
    if ! grep -q '^Messages: 20 ' <<<"$out" || ! grep -qx 'Errors: 0' <<<"$out"; then
        failed=1
        die "$target did not echo 20 WebSocket messages: $(tr '\n' ' ' <<<"$out") (log: $tmp/$target.log)"
    fi
    log "$target: echoed 20 WebSocket messages ($(sed -n 's/^Latency us: //p' <<<"$out") µs)"
}
if has_scenario websocket; then
    "$WS_PYTHON" "$repo_root/Tests/Support/ws_echo_server.py" --port-file "$tmp/ws-echo.port" >"$tmp/ws-echo.log" 2>&1 &
    pid_of[ws-echo]=$!
    started_pids+=("$!")
    deadline=$((SECONDS + 15))
    until [[ -s $tmp/ws-echo.port ]]; do
        if ! kill -0 "${pid_of[ws-echo]}" 2>/dev/null; then
            failed=1
            cat "$tmp/ws-echo.log" >&2
            die "Tests/Support/ws_echo_server.py exited during start"
        fi
        ((SECONDS < deadline)) || { failed=1; die "Tests/Support/ws_echo_server.py wrote no port in 15 s (log: $tmp/ws-echo.log)"; }
        sleep 0.1
    done
    ws_echo_port=$(<"$tmp/ws-echo.port")
    log "websocket echo server: Tests/Support/ws_echo_server.py on $HOST:$ws_echo_port, pid ${pid_of[ws-echo]}"
    ws_configs "$ws_echo_port"
    if in_run ws-direct; then expect_ws ws-direct; fi
    if in_run gateway-ws; then
        start gateway-ws "$GATEWAY_WS_PORT" "$GATEWAY_BIN" run --config "$tmp/gateway-ws.yaml"
        expect_ws gateway-ws
        mark_log gateway-ws
    fi
    if in_run nginx-ws; then
        start nginx-ws "$NGINX_WS_PORT" nginx -p "$tmp" -e "$tmp/nginx-ws.error.log" -c "$tmp/nginx-ws.conf"
        expect_ws nginx-ws
    fi
    if in_run haproxy-ws; then
        start haproxy-ws "$HAPROXY_WS_PORT" haproxy -db -f "$tmp/haproxy-ws.cfg"
        expect_ws haproxy-ws
    fi
fi
# The backend's process stays in pid_of for liveness checks; "backend" as a target means direct, and
# ws-direct the echo server.

# What wrk runs with in the current scenario (set_scenario): threads, connections and the header it
# sends, if any (the credential of the auth scenarios, sent to the plain targets too).
set_scenario() { # SCENARIO
    wrk_threads=$THREADS wrk_connections=$CONNECTIONS wrk_headers=() wrk_header_note="" client=wrk client_args=()
    count_resumptions=0 scenario_duration=$DURATION
    case "$1" in
        h2 | h2c) client=h2load wrk_connections=$H2_CONNECTIONS ;;
        websocket) client=ws wrk_connections=$WS_CONNECTIONS scenario_duration=$WS_DURATION ;;
        https-close)
            wrk_connections=$HTTPS_CONNECTIONS wrk_headers=(-H "Connection: close") count_resumptions=1
            wrk_header_note=" -H 'Connection: close'"
            ;;
        https-full) client=tls_connect wrk_connections=$HTTPS_CONNECTIONS ;;
        https-resumed) client=tls_connect wrk_connections=$HTTPS_CONNECTIONS client_args=(--resume) ;;
        key-auth | plugin-timing) wrk_headers=(-H "apikey: $API_KEY") wrk_header_note=" -H 'apikey: $API_KEY'" ;;
        jwt-auth) wrk_headers=(-H "Authorization: Bearer $jwt_token") wrk_header_note=" -H 'Authorization: Bearer <HS256 token>'" ;;
        stress) wrk_threads=$STRESS_THREADS wrk_connections=$STRESS_CONNECTIONS ;;
    esac
}

# run_wrk NAME PORT DURATION OUTFILE: wrk (https for the *-tls targets), or in https-full and
# https-resumed tls_connect, whose output has the lines of wrk's that parse_wrk reads; in h2 and h2c
# h2load (https for the *-h2 targets: ALPN; h2c with prior knowledge for http), with each request's
# latency in OUTFILE.log for the p99 (h2load prints no percentiles); in websocket ws_echo_latency.py.
run_wrk() {
    local scheme=http
    [[ $1 == *-tls || $1 == *-h2 ]] && scheme=https
    if [[ $client == h2load ]]; then
        timeout --kill-after=5 $(($(seconds_of "$3") + 30)) \
            h2load -t "$wrk_threads" -c "$wrk_connections" -m "$H2_STREAMS" -D "$(seconds_of "$3")" \
            --log-file "$4.log" "$scheme://$HOST:$2/" >"$4" 2>&1 || true
        return
    fi
    if [[ $client == ws ]]; then
        timeout --kill-after=5 $(($(seconds_of "$3") + 30)) \
            "$WS_PYTHON" "$script_dir/ws_echo_latency.py" --url "ws://$HOST:$2/echo" --size "$WS_SIZE" \
            --connections "$wrk_connections" --messages "$WS_MESSAGES" --duration "$(seconds_of "$3")" >"$4" 2>&1 || true
        return
    fi
    if [[ $client == tls_connect ]]; then
        timeout --kill-after=5 $(($(seconds_of "$3") + 30)) \
            "$tls_connect_bin" -h "$HOST" -p "$2" -c "$wrk_connections" -d "$(seconds_of "$3")" "${client_args[@]}" \
            >"$4" 2>&1 || true
        return
    fi
    timeout --kill-after=5 $(($(seconds_of "$3") + 30)) \
        wrk -t"$wrk_threads" -c"$wrk_connections" -d"$3" --latency "${wrk_headers[@]}" "$scheme://$HOST:$2/" >"$4" 2>&1 || true
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

# Prints "REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS REQUESTS" from one h2load output file and its per-request
# log (OUTFILE.log: start µs, status (-1: the stream failed), µs to the end of the response); dies unless
# h2load spoke h2. REQUESTS is h2load's "done", SOCKET_ERRORS its failed streams and timeouts, NON_2XX the
# 3xx, 4xx and 5xx; the p99 is over the log's completed requests.
parse_h2load() {
    local p99
    grep -qE '^Application protocol: h2c?$' "$1" || return 1
    p99=$(awk -F '\t' '$2 != -1 { print $3 }' "$1.log" | sort -n |
        awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.3f", v[i] / 1000 }') || return 1
    awk -v p99="$p99" '
        /^finished in / { rps = $4 }
        /^requests: / { done = $6; errored = $12; timeout = $14 }
        /^status codes: / { non2xx = $5 + $7 + $9 }
        END {
            if (rps == "" || done == "") exit 1
            printf "%s %s %d %d %d\n", rps, p99, non2xx + 0, errored + timeout, done
        }' "$1"
}

# Prints "MESSAGES_PER_S P99_MS 0 ERRORS MESSAGES P50_MS P90_MS MAX_MS MEAN_MS" from one ws_echo_latency.py
# output file.
parse_ws() {
    awk '
        /^Messages: / { messages = $2; rate = substr($6, 2) }
        /^Latency us: / { p50 = $4 / 1000; p90 = $6 / 1000; p99 = $8 / 1000; max = $10 / 1000; mean = $12 / 1000 }
        /^Errors: / { errors = $2 }
        END {
            if (messages == "" || p99 == "") exit 1
            printf "%s %.3f 0 %d %d %.3f %.3f %.3f %.3f\n", rate, p99, errors, messages, p50, p90, max, mean
        }' "$1"
}

# client_ticks: user + system clock ticks of this script's waited-for children so far (cutime + cstime
# of /proc/$$/stat), read just before and after run_wrk for the CPU time of the client (wrk or tls_connect).
client_ticks() {
    local stat fields
    stat=$(<"/proc/$$/stat")
    read -ra fields <<<"${stat##*) }"
    echo $((fields[13] + fields[14]))
}

# tls_counts TARGET: "RESUMPTIONS HANDSHAKES" (successful ones) from a gateway's /metrics on its control
# listener (port + 10), "" when it does not answer.
tls_counts() {
    local scrape
    scrape=$(curl -sf --max-time "$bench_curl_max_time" "http://$HOST:$(($(port_of "$1") + 10))/metrics") || return 0
    awk '$1 == "gateway_tls_resumptions_total" { r += $2 }
        $1 ~ /^gateway_tls_handshakes_total\{result="success"/ { h += $2 }
        END { printf "%d %d\n", r, h }' <<<"$scrape"
}

# Runs one measured wrk and sets rps, p99, non2xx, sockerr, requests and cpu_us (user+system CPU
# time of all the target's processes during the round, in microseconds per completed request;
# "backend" is the backend nginx itself), and resumed: "X of N" handshakes resumed in the round, from
# tls_connect's count, or for the gateway over TLS from its own metrics; "" when not known; and
# client_cpu_us, the client's own CPU time per completed request.
measure() { # target label
    local target=$1 label=$2 out parsed root ticks_before ticks_after tls_before="" tls_after="" client_before client_after
    out="$tmp/wrk-$target-$label.txt"
    root=${pid_of[$target]:-}
    # ws-direct: the CPU time is the echo server's own.
    [[ $target == ws-direct ]] && root=${pid_of[ws-echo]}
    [[ $target == gateway-tls ]] && ((count_resumptions)) && tls_before=$(tls_counts "$target")
    local redis_target=0 script_before="" script_after="" calls_before="" calls_after="" redis_ticks_before=0 redis_ticks_after=0
    local counters_before="" counters_after=""
    if is_redis_target "$target"; then
        redis_target=1
        counters_before=$(redis_counters)
        script_before=$(redis_script_calls)
        calls_before=$(backend_calls "$target")
        redis_ticks_before=$(cpu_ticks "${pid_of[redis]}")
    fi
    ticks_before=$(cpu_ticks "$root")
    client_before=$(client_ticks)
    run_wrk "$target" "$(port_of "$target")" "$scenario_duration" "$out"
    client_after=$(client_ticks)
    ticks_after=$(cpu_ticks "$root")
    if ((redis_target)); then
        redis_ticks_after=$(cpu_ticks "${pid_of[redis]}")
        script_after=$(redis_script_calls)
        calls_after=$(backend_calls "$target")
        counters_after=$(redis_counters)
    fi
    [[ $target == gateway-tls ]] && ((count_resumptions)) && tls_after=$(tls_counts "$target")
    resumed=""
    if [[ $client == tls_connect ]]; then
        resumed=$(sed -n 's/^Resumed: //p' "$out")
    elif [[ -n $tls_before && -n $tls_after ]]; then
        local r0 h0 r1 h1
        read -r r0 h0 <<<"$tls_before"
        read -r r1 h1 <<<"$tls_after"
        resumed="$((r1 - r0)) of $((h1 - h0))"
    fi
    check_alive
    case "$client" in
        h2load)
            parsed=$(parse_h2load "$out") || { failed=1; cat "$out" >&2; die "could not parse h2load output for $target, or it did not speak h2 ($out)"; }
            ;;
        ws) parsed=$(parse_ws "$out") || { failed=1; cat "$out" >&2; die "could not parse ws_echo_latency.py output for $target ($out)"; } ;;
        *) parsed=$(parse_wrk "$out") || { failed=1; cat "$out" >&2; die "could not parse wrk output for $target ($out)"; } ;;
    esac
    read -r rps p99 non2xx sockerr requests ws_rest <<<"$parsed"
    # The per-request log is large (a line a request); kept only when something failed.
    if [[ $client == h2load ]] && ((non2xx + sockerr == 0)); then rm -f "$out.log"; fi
    ((requests > 0)) || { failed=1; cat "$out" >&2; die "wrk completed no requests against $target ($out)"; }
    cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$clk_tck" -v n="$requests" \
        'BEGIN { printf "%.3f", t * 1000000 / hz / n }')
    client_cpu_us=$(awk -v t=$((client_after - client_before)) -v hz="$clk_tck" -v n="$requests" \
        'BEGIN { printf "%.3f", t * 1000000 / hz / n }')
    # A redis target's round as Redis saw it: "REQUESTS SCRIPT_CALLS SCRIPT_USEC GATEWAY_CALLS
    # REDIS_CPU_US_PER_REQUEST PERMITS_TAKEN" (GATEWAY_CALLS -1 when the gateway's /metrics did not answer,
    # PERMITS_TAKEN -1 when a window ended or started during the round).
    redis_round=""
    if ((redis_target)); then
        local c0 u0 c1 u1 gateway_calls=-1
        read -r c0 u0 <<<"$script_before"
        read -r c1 u1 <<<"$script_after"
        [[ -n $calls_before && -n $calls_after ]] && gateway_calls=$((calls_after - calls_before))
        redis_round="$requests $((c1 - c0)) $((u1 - u0)) $gateway_calls $(awk -v t=$((redis_ticks_after - redis_ticks_before)) \
            -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.3f", t * 1000000 / hz / n }') $(permits_taken "$counters_before" "$counters_after")"
    fi
}

# Each scenario: a warm-up of its targets, then its rounds, the targets alternating within each round and
# the order rotating from round to round.
# The proxy scenario's files and log lines carry no scenario name.
for scenario in "${run_scenarios[@]}"; do
    set_scenario "$scenario"
    prefix="" file_prefix=""
    if [[ $scenario != proxy ]]; then
        prefix="$scenario " file_prefix="$scenario-"
        if [[ $client == tls_connect ]]; then
            log "scenario $scenario: ${targets_of[$scenario]}; tls_connect -c$wrk_connections -d$(seconds_of "$DURATION") ${client_args[*]}"
        elif [[ $client == h2load ]]; then
            log "scenario $scenario: ${targets_of[$scenario]}; h2load -t$wrk_threads -c$wrk_connections -m$H2_STREAMS -D$(seconds_of "$DURATION")"
        elif [[ $client == ws ]]; then
            log "scenario $scenario: ${targets_of[$scenario]}; ws_echo_latency.py --connections $wrk_connections --messages $WS_MESSAGES --duration $(seconds_of "$WS_DURATION") --size $WS_SIZE"
        else
            log "scenario $scenario: ${targets_of[$scenario]}; wrk -t$wrk_threads -c$wrk_connections -d$DURATION$wrk_header_note"
        fi
    fi
    if [[ $WARMUP != 0 && $WARMUP != 0s ]]; then
        for target in ${targets_of[$scenario]}; do
            run_wrk "$target" "$(port_of "$target")" "$WARMUP" "$tmp/wrk-$target-${file_prefix}warmup.txt"
            rm -f "$tmp/wrk-$target-${file_prefix}warmup.txt.log" # h2load's per-request log
        done
        check_alive
    fi
    read -r -a scenario_targets <<<"${targets_of[$scenario]}"
    for round in $(seq "$ROUNDS"); do
        # Each round starts one target later than the one before, so no target always runs first (right
        # after the warm-up or another's load) or last: an order effect lands on every target alike.
        first=$(((round - 1) % ${#scenario_targets[@]}))
        for target in "${scenario_targets[@]:first}" "${scenario_targets[@]:0:first}"; do
            measure "$target" "${file_prefix}round$round"
            resumed_note=""
            [[ -n $resumed ]] && resumed_note=", $resumed handshakes resumed"
            if [[ $client == ws ]]; then
                read -r ws_p50 ws_p90 ws_max ws_mean <<<"$ws_rest"
                log "${prefix}round $round $target: $rps messages/s, round trip p50 $ws_p50 ms, p90 $ws_p90 ms, p99 $p99 ms, max $ws_max ms, errors $sockerr, CPU $cpu_us µs/message, client CPU $client_cpu_us µs/message ($requests messages)"
                printf 'wslat\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$requests" "$ws_p50" "$ws_p90" "$p99" \
                    "$ws_max" "$ws_mean" "$sockerr" >>"$records"
            else
                log "${prefix}round $round $target: $rps req/s, p99 $p99 ms, non-2xx $non2xx, socket errors $sockerr, CPU $cpu_us µs/request, client CPU $client_cpu_us µs/request ($requests requests$resumed_note)"
            fi
            if [[ $scenario == https-full && -n $resumed && ${resumed%% *} != 0 ]]; then
                # tls_connect never offers a session here: a resumed handshake means the client is broken.
                log "warning: $target resumed $resumed handshakes in https-full round $round"
                keep_tmp=1
            fi
            printf 'round\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$rps" "$p99" "$non2xx" "$sockerr" \
                "$cpu_us" "$scenario" "$resumed" "$client_cpu_us" >>"$records"
            if [[ -n $redis_round ]]; then
                read -r r_requests r_calls r_usec r_gateway r_cpu r_permits <<<"$redis_round"
                log "${prefix}round $round $target: Redis served $r_calls script calls ($(awk -v c="$r_calls" -v n="$r_requests" 'BEGIN { printf "%.4f", c / n }') a request, ${r_usec} µs in them), the gateway counted $r_gateway backend calls; permits taken in Redis $r_permits (-1: a window ended); redis-server CPU $r_cpu µs/request"
                printf 'redis\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$scenario" "$r_requests" "$r_calls" "$r_usec" \
                    "$r_gateway" "$r_cpu" "$r_permits" >>"$records"
            fi
            if [[ $scenario != proxy ]] && ((non2xx + sockerr > 0)); then
                log "warning: $target answered $non2xx non-2xx and had $sockerr socket errors in $scenario round $round ($tmp/wrk-$target-${file_prefix}round$round.txt)"
                keep_tmp=1
            fi
        done
    done
done
set_scenario proxy

proxies=()
for target in nginx haproxy gateway gateway-bare gateway-epoll; do in_run "$target" && proxies+=("$target"); done

# Starts a helper in the background and waits for its READY line (or fails after a deadline).
start_helper() { # name timeout command...
    local name=$1 limit=$2
    shift 2
    "$@" >"$tmp/$name.out" 2>&1 &
    helper_pids+=("$!")
    local pid=$! deadline=$((SECONDS + limit))
    until grep -qs '^READY' "$tmp/$name.out"; do # -s: the shell may not have made the file yet
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

# hold_idle TARGET COUNT [--tls]: RSS of TARGET before and while idle_conns.py holds COUNT connections
# (each with one request answered), recorded as an idle record.
hold_idle() {
    local target=$1 count=$2 before after pid ready done_line
    shift 2
    before=$(rss_kb "${pid_of[$target]}")
    start_helper "idle-$target" 300 python3 "$script_dir/idle_conns.py" --host "$HOST" \
        --port "$(port_of "$target")" --count "$count" "$@"
    pid=$helper_pid
    ready=$(grep '^READY' "$tmp/idle-$target.out" | sed 's/^READY //')
    sleep 2 # let the proxy settle (freed upstream connections, trimmed buffers)
    after=$(rss_kb "${pid_of[$target]}")
    check_alive
    done_line=$(stop_helper "$pid" "idle-$target")
    log "idle $target: RSS $before -> $after KiB with $count connections ($ready; $done_line)"
    printf 'idle\t%s\t%s\t%s\t%s\t%s\n' "$target" "$count" "$before" "$after" "$ready; $done_line" >>"$records"
    sleep 1
}

if ((idle_count > 0)); then
    for target in "${proxies[@]}"; do
        hold_idle "$target" "$idle_count"
        expect_200 "$target" "$(port_of "$target")"
    done
fi

# Idle TLS sessions: handshake done, one request answered, then idle.
if ((https_idle > 0)); then
    for target in nginx-tls haproxy-tls gateway-tls; do
        in_run "$target" || continue
        hold_idle "$target" "$https_idle" --tls
        expect_status_url "$target" "https://$HOST:$(port_of "$target")/" 200 -k
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
if in_run gateway; then
    printf 'startrss\tgateway-end\t%s\n' "$(rss_kb "${pid_of[gateway]}")" >>"$records"
fi
for target in gateway gateway-bare gateway-epoll gateway-keyauth gateway-jwt gateway-limitcount gateway-limitredis \
    gateway-limitredisbatch gateway-tracing gateway-plugins gateway-plugintiming gateway-tls gateway-h2 gateway-h2c gateway-ws; do
    in_run "$target" || continue
    if [[ $target != gateway-bare ]]; then
        # The access log must keep up at full load: records written vs dropped, from the gateway's own metrics.
        scrape=$(curl -s "http://$HOST:$(($(port_of "$target") + 10))/metrics" || true)
        log "$target access log: $(grep -E '^gateway_access_log_(records|dropped)_total' <<<"$scrape" | tr '\n' ' ')"
    fi
    if is_redis_target "$target"; then
        # Every call must have been answered: an error means a request was denied (on_error deny) or timed.
        log "$target Redis: $(grep -E '^gateway_rate_limit_backend_(calls|errors)_total' <<<"$scrape" | tr '\n' ' ')"
        if awk '$1 ~ /^gateway_rate_limit_backend_errors_total/ && $2 > 0 { bad = 1 } END { exit !bad }' <<<"$scrape"; then
            log "warning: $target counted Redis errors (gateway_rate_limit_backend_errors_total above)"
            keep_tmp=1
        fi
    fi
    if [[ $target == gateway-tracing ]]; then
        log "$target spans: $(grep -E '^gateway_tracing_spans_(exported|dropped)_total' <<<"$scrape" | tr '\n' ' ')"
    fi
    if [[ $target == gateway-tls ]]; then
        # What the handshakes were: full or resumed, by protocol and result, from the gateway's own count.
        log "$target TLS: $(grep -E '^gateway_tls_(handshakes|resumptions)_total' <<<"$scrape" | tr '\n' ' ')"
    fi
    if [[ $target == gateway-h2 || $target == gateway-h2c ]]; then
        # HTTP/2 as the gateway saw it: requests by protocol, GOAWAYs and resets (none expected), and
        # the connections and streams still open after the rounds.
        log "$target HTTP/2: $(grep -E '^gateway_http2_|^gateway_http_requests_total' <<<"$scrape" | tr '\n' ' ')"
    fi
    if [[ $target == gateway-ws ]]; then
        log "$target WebSocket: $(grep -E '^gateway_websocket_connections_(active|total)|^gateway_timeouts_total.*tunnel' <<<"$scrape" | tr '\n' ' ')"
    fi
    if [[ $target == gateway-plugintiming ]]; then
        # What the timing itself saw: calls and mean time per call of each plugin phase that ran.
        log "$target plugin timing: $(awk '
            match($1, /^gateway_plugin_duration_seconds_(sum|count)\{/) {
                kind = substr($1, 33, RLENGTH - 33); series = substr($1, RLENGTH + 1)
                gsub(/"|}/, "", series); sub(/^plugin=/, "", series); sub(/,phase=/, "/", series)
                if (kind == "sum") sum[series] = $2; else count[series] = $2
            }
            END {
                for (series in count) if (count[series] > 0)
                    printf "%s %d calls, mean %.0f ns; ", series, count[series], sum[series] * 1e9 / count[series]
            }' <<<"$scrape")"
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
in_run gateway && gateway_kinds+=("\`gateway\` with metrics and the zstd JSON access log on (shipped defaults, engine auto)")
in_run gateway-bare && gateway_kinds+=("\`gateway-bare\` with both off")
in_run gateway-epoll && gateway_kinds+=("\`gateway-epoll\` with both on and \`engine: epoll\`")
if ((${#gateway_kinds[@]})); then
    gateway_note=" Gateway $GATEWAY_BIN: $(printf '%s, ' "${gateway_kinds[@]}")"
    gateway_note="${gateway_note%, }."
fi
access_note="nginx access log $nginx_access_log"
[[ $nginx_access_log == on ]] && access_note+=" (combined format, to a file)"
{
    printf 'meta\tdate\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'meta\tmachine\t%s\n' "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)), all on loopback; 1-minute load average $load_at_start at the start, $(cut -d ' ' -f 1 /proc/loadavg) at the end"
    targets_env=""
    [[ $TARGETS != "$DEFAULT_TARGETS" ]] && targets_env="TARGETS=\"$TARGETS\" "
    scenario_env=""
    ((only_proxy)) || [[ -n $scenario_options ]] || scenario_env="SCENARIOS=\"$SCENARIOS\" "
    if has_scenario stress; then scenario_env+="STRESS_CONNECTIONS=$STRESS_CONNECTIONS STRESS_THREADS=$STRESS_THREADS "; fi
    if { has_scenario limit-count || has_scenario limit-redis || has_scenario plugin-timing; } && [[ $LIMIT_COUNT != 67108863 ]]; then scenario_env+="LIMIT_COUNT=$LIMIT_COUNT "; fi
    if has_scenario limit-redis && [[ $REDIS_BATCH != 100 ]]; then scenario_env+="REDIS_BATCH=$REDIS_BATCH "; fi
    if has_scenario https; then
        [[ $HTTPS_CONNECTIONS != "$CONNECTIONS" ]] && scenario_env+="HTTPS_CONNECTIONS=$HTTPS_CONNECTIONS "
        [[ $HTTPS_IDLE_CONNECTIONS != 2000 ]] && scenario_env+="HTTPS_IDLE_CONNECTIONS=$HTTPS_IDLE_CONNECTIONS "
    fi
    if has_scenario h2 || has_scenario h2c; then
        [[ $H2_CONNECTIONS != 10 ]] && scenario_env+="H2_CONNECTIONS=$H2_CONNECTIONS "
        [[ $H2_STREAMS != 10 ]] && scenario_env+="H2_STREAMS=$H2_STREAMS "
    fi
    if has_scenario websocket; then
        [[ $WS_CONNECTIONS != 4 ]] && scenario_env+="WS_CONNECTIONS=$WS_CONNECTIONS "
        [[ $WS_DURATION != 5s ]] && scenario_env+="WS_DURATION=$WS_DURATION "
        [[ $WS_MESSAGES != 0 ]] && scenario_env+="WS_MESSAGES=$WS_MESSAGES "
        [[ $WS_SIZE != 32 ]] && scenario_env+="WS_SIZE=$WS_SIZE "
    fi
    printf 'meta\tcommand\t%s\n' "${targets_env}${scenario_env}WORKERS=$WORKERS THREADS=$THREADS CONNECTIONS=$CONNECTIONS DURATION=$DURATION ROUNDS=$ROUNDS $command_line"
    printf 'meta\tsettings\t%s\n' "Each proxy: $WORKERS worker(s), same nginx backend (1 worker, return 200), upstream keep-alive; wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, targets alternating each round, the order rotating by one target per round. CPU µs/request: user+system CPU time of all the target's processes during each round (from /proc/PID/stat) divided by the requests wrk completed in it, median over rounds. $access_note; HAProxy logs nothing.$gateway_note"
    plugin_base="the shipped defaults as \`gateway\` (metrics and access log on) on its own port"
    if has_scenario key-auth; then
        checks=""
        if in_run nginx-keyauth; then
            checks+=" \`nginx-keyauth\`: nginx plus \`map \$http_apikey \$key_ok { default 0; \"$API_KEY\" 1; }\` and \`if (\$key_ok = 0) { return 401; }\` in \`location /\`."
        fi
        if in_run haproxy-keyauth; then
            checks+=" \`haproxy-keyauth\`: HAProxy plus \`http-request deny deny_status 401 unless { req.hdr(apikey) -m str $API_KEY }\`."
        fi
        if in_run gateway-keyauth; then
            checks+=" \`gateway-keyauth\`: $plugin_base, route plugin \`key-auth: {}\` (header \`apikey\`) and consumer \`bench\` with \`key-auth: {key: $API_KEY}\`."
        fi
        printf 'meta\tsettings:key-auth\t%s\n' "wrk sends \`apikey: $API_KEY\` to every target (the plain ones too), same wrk settings otherwise.$checks Before the rounds each check answered 200 with the key and 401 without it and with a wrong one."
    fi
    if has_scenario jwt-auth; then
        printf 'meta\tsettings:jwt-auth\t%s\n' "wrk sends \`Authorization: Bearer <token>\` to both targets, an HS256 token minted by the script (python3 hmac) with payload \`{\"key\": \"$JWT_KEY\", \"exp\": <now + 10 years>}\`. \`gateway-jwt\`: $plugin_base, route plugin \`jwt-auth: {}\` and consumer \`bench\` with \`jwt-auth: {key: $JWT_KEY, secret: $JWT_SECRET, algorithm: HS256}\`. Before the rounds it answered 200 with the token and 401 without it, with a wrong signature and with an expired token."
    fi
    if has_scenario limit-count; then
        printf 'meta\tsettings:limit-count\t%s\n' "\`gateway-limitcount\`: $plugin_base, route plugin \`limit-count: {count: $LIMIT_COUNT, time_window: 60, key: remote_addr, policy: local}\`. All of wrk's connections come from 127.0.0.1: every request counts against one key, one counter shared by all workers; the count is never reached (a 429 would show as non-2xx). Responses carry the three X-RateLimit-* headers."
    fi
    if has_scenario limit-redis; then
        printf 'meta\tredis-batch\t%s\n' "$REDIS_BATCH"
        printf 'meta\tsettings:limit-redis\t%s\n' "Three targets in the same rounds, each $plugin_base with one route plugin, all with \`count: $LIMIT_COUNT, time_window: 60, key: remote_addr\` (one key, never reached): \`gateway-limitcount\` with \`policy: local\`; \`gateway-limitredis\` with \`policy: redis, redis: {host: \"$HOST\", port: $REDIS_PORT, timeout: 1, on_error: deny}\` (one EVALSHA of the limit-count script a request, pipelined on each worker's connection); \`gateway-limitredisbatch\` the same plus \`batch: $REDIS_BATCH\` (a worker takes $REDIS_BATCH permits a call and spends them locally). on_error deny makes a failed Redis call a 503 (non-2xx) instead of a silent local count. $(redis-server --version | head -n 1 | sed 's/ sha=.*//') on $HOST:$REDIS_PORT, started by the script with \`--save \"\" --appendonly no\`, on the same cores. Before the rounds each redis target answered 200 with X-RateLimit-Limit/Remaining/Reset and a gw:lc:* key appeared (or changed) in Redis and in the gateway's gateway_rate_limit_backend_calls_total. Redis calls per request: EVALSHA (+ EVAL) calls Redis served during the round (INFO commandstats, difference) / requests wrk completed; gateway calls: gateway_rate_limit_backend_calls_total's difference / the same requests; permits taken per request: how far the gw:lc:* counters in Redis went down during the round / the same requests (rounds in which a 60 s window ended left out; 1 without batch; with batch, above 1 by the permits of leases replaced or left unused); Redis CPU: redis-server's user+system time in the round (/proc/PID/stat) / the same requests."
    fi
    if has_scenario tracing; then
        printf 'meta\tsettings:tracing\t%s\n' "\`gateway-tracing\`: the shipped defaults as \`gateway\` on their own port, plus \`tracing: {sampling_ratio: 0.01, otlp: {endpoint: http://$HOST:$OTLP_PORT/v1/traces}}\`. wrk sends no traceparent: every request starts a trace, gets its own span ids and a traceparent to the backend and a trace_id in its access line; 1% are sampled (a server and a client span each) and exported in batches to Tests/Support/otlp_receiver.py (Python, decoding with opentelemetry-proto)."
    fi
    if has_scenario plugin-timing; then
        printf 'meta\tsettings:plugin-timing\t%s\n' "wrk sends \`apikey: $API_KEY\` to both targets. Both: the shipped defaults as \`gateway\` (metrics and access log on) on their own port, route plugins \`key-auth: {}\`, \`limit-count: {count: $LIMIT_COUNT, time_window: 60, key: remote_addr, policy: local}\` and \`response-rewrite: {headers: {set: {X-Bench: \"1\"}}}\`, consumer \`bench\` with \`key-auth: {key: $API_KEY}\`; \`gateway-plugins\` with \`metrics: {enabled: true, plugin_timing: false}\` (the default), \`gateway-plugintiming\` with \`plugin_timing: true\`: every plugin phase call (3 a request) timed with two monotonic clock reads and observed into \`gateway_plugin_duration_seconds{plugin, phase}\`. Before the rounds both answered 200 with the key and 401 without it and with a wrong one, with the X-RateLimit-* and X-Bench headers; after one request \`gateway-plugintiming\` had counted key-auth's rewrite in that histogram and \`gateway-plugins\` had not."
    fi
    if has_scenario https; then
        negotiated=""
        for target in nginx-tls haproxy-tls gateway-tls; do
            in_run "$target" && negotiated+=" \`$target\` ${negotiated_of[$target]:-?} (${resumed_of[$target]:-?} resumed);"
        done
        https_settings="One self-signed ECDSA P-256 certificate (openssl CLI) for every TLS target, TLS 1.2 and 1.3 offered, TLS 1.3 suites \`$tls_suites\` with the server's preference (the gateway's default), each proxying to the backend over plain HTTP with the keep-alive settings of its plain twin. \`nginx-tls\`: nginx plus \`ssl_certificate\`, \`ssl_protocols TLSv1.2 TLSv1.3\`, \`ssl_conf_command Ciphersuites\`, \`ssl_prefer_server_ciphers on\`, \`ssl_session_cache shared:SSL:10m\`, \`ssl_session_tickets on\`, access log $nginx_access_log. \`haproxy-tls\`: HAProxy plus \`bind ... ssl crt <cert+key pem> ssl-min-ver TLSv1.2 ciphersuites ...\` (session cache and tickets at their defaults). \`gateway-tls\`: the shipped defaults as \`gateway\` with \`listen: [{address: ..., tls: true}]\`, one \`ssls\` entry (\`cert_file\`, \`key_file\`) and \`tls: {default_ssl: bench}\`, every other \`tls.*\` at its default. Before the rounds each answered 200 over TLS 1.3 and over TLS 1.2 (curl); negotiated with OpenSSL's client defaults (wrk's and tls_connect's), and of three tls_connect connections in a row, each offering the session the previous one ended with, resumed:${negotiated%;}."
        printf 'meta\tsettings:https\t%s\n' "$https_settings wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency over https, keep-alive."
        printf 'meta\tsettings:https-close\t%s\n' "wrk -t$THREADS -c$HTTPS_CONNECTIONS -d$DURATION --latency -H 'Connection: close' over https: a new TCP and TLS connection per request. wrk offers its last session on every reconnect (its SSL_clear keeps it), using each once as OpenSSL's client does: a reconnect resumes when the previous connection brought a fresh ticket. Handshakes resumed: the gateway's own count (gateway_tls_resumptions_total / successful handshakes in the round)."
        printf 'meta\tsettings:https-full\t%s\n' "bench/tls_connect.c -c$HTTPS_CONNECTIONS -d$(seconds_of "$DURATION"): one thread, $HTTPS_CONNECTIONS connections in flight, each connect, full handshake (no session offered), one GET with \`Connection: close\`, read the response, close_notify, close; latency from connect to the last response byte."
        printf 'meta\tsettings:https-resumed\t%s\n' "bench/tls_connect.c --resume -c$HTTPS_CONNECTIONS -d$(seconds_of "$DURATION"): as https-full, each connection offering the session (TLS 1.3 ticket) its slot's previous connection ended with."
    fi
    if has_scenario h2 || has_scenario h2c; then
        h2_common="Each proxy: $WORKERS worker(s), HTTP/2 to the client, every stream proxied to the same nginx backend over HTTP/1.1 keep-alive with the plain proxy's upstream settings. \`nginx-h2\`: nginx $(nginx -v 2>&1 | sed 's#.*nginx/##') as \`nginx-tls\` with \`listen ... ssl http2\`; \`haproxy-h2\`: HAProxy as \`haproxy-tls\` plus \`alpn h2,http/1.1\` on the bind line; \`gateway-h2\`: the shipped defaults (metrics and access log on) with \`listen: [{address: ..., tls: true, http2: true}]\` (ALPN h2,http/1.1) and the https scenario's ssls entry. The same self-signed ECDSA P-256 certificate and TLS settings as the https scenario. h2load -t$THREADS -c$H2_CONNECTIONS -m$H2_STREAMS -D$(seconds_of "$DURATION") ($(h2load --version 2>&1 | head -n 1)), targets alternating each round; p99 from h2load's per-request log (--log-file). Before the rounds each answered 200 over HTTP/2 (curl --http2 -k) and h2load reported ALPN h2 every round. CPU µs/request as elsewhere (all the target's processes); client CPU: h2load's."
        printf 'meta\tsettings:h2\t%s\n' "$h2_common"
        printf 'meta\tsettings:h2c\t%s\n' "Clear text, HTTP/2 with prior knowledge (h2c): \`nginx-h2c\` with \`listen ... http2\`, \`haproxy-h2c\` with \`bind ... proto h2\`, \`gateway-h2c\` the shipped defaults with \`listen: [{address: ..., http2: true}]\`; otherwise as h2 (h2load -t$THREADS -c$H2_CONNECTIONS -m$H2_STREAMS -D$(seconds_of "$DURATION") http://..., curl --http2-prior-knowledge before the rounds)."
    fi
    if has_scenario websocket; then
        ws_bound="$(seconds_of "$WS_DURATION") s"
        ((WS_MESSAGES > 0)) && ws_bound+=" (or $WS_MESSAGES messages, whichever comes first)"
        printf 'meta\tsettings:websocket\t%s\n' "bench/ws_echo_latency.py (Python websockets $("$WS_PYTHON" -c 'import websockets; print(websockets.__version__)'), one asyncio loop): $WS_CONNECTIONS connections at once, each sending a $WS_SIZE-byte text message and waiting for its echo, one after another, for $ws_bound a round; round trip from before the send to the echo, handshakes not timed. Echo server: Tests/Support/ws_echo_server.py (Python websockets, compression off), \`ws-direct\` without a proxy. \`nginx-ws\`: nginx with \`proxy_http_version 1.1\`, \`proxy_set_header Upgrade \$http_upgrade\`, \`proxy_set_header Connection \$connection_upgrade\` (map), access log $nginx_access_log; \`haproxy-ws\`: the plain HAProxy config (mode http tunnels the upgrade); \`gateway-ws\`: the shipped defaults (metrics and access log on) with \`enable_websocket: true\` on the route. Each proxy $WORKERS worker(s). Proxy CPU µs/message: user+system time of the proxy's processes during the round / messages echoed (for ws-direct: the echo server's)."
    fi
    if has_scenario stress; then
        printf 'meta\tstress-connections\t%s\n' "$STRESS_CONNECTIONS"
        printf 'meta\tsettings:stress\t%s\n' "The same targets as the proxy scenario with wrk -t$STRESS_THREADS -c$STRESS_CONNECTIONS -d$DURATION --latency; nginx worker_connections $worker_connections, HAProxy maxconn $haproxy_maxconn, the gateway's limits.max_connections at its default (65536 per worker)."
    fi
} >>"$records"

report_args=("$records")
[[ -n $markdown_file ]] && report_args+=(--markdown "$markdown_file")
python3 "$script_dir/report.py" "${report_args[@]}"
# The h2, h2c and websocket tables (bench/report_h2ws.py; appended to the markdown file when there is one).
if has_scenario h2 || has_scenario h2c || has_scenario websocket; then
    python3 "$script_dir/report_h2ws.py" "${report_args[@]}"
fi
