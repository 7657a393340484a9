# shellcheck shell=bash
# What bench/run.sh and bench/panic_burst.sh share: messages, checks, the temp dir and the traps that stop
# everything a run started, the MAX_RUNTIME watchdog, starting a server and waiting for its port, the
# liveness and "answers 200" (or another status) checks, and the nginx and gateway configs they write.
#
# Sourced, never run. The caller keeps `set -euo pipefail`, sources this file before it parses its options,
# sets bench_name (the prefix of its messages) and calls bench_init before it starts anything. Everything
# listens and connects on HOST, 127.0.0.1.
#
# Globals it keeps, for the caller to read and set:
#   tmp                    the run's temp dir (bench_init)
#   keep_tmp               1: keep the temp dir on exit (--keep-tmp, or something worth a look)
#   failed                 1: something failed; keep the temp dir even when the exit status is 0
#   pid_of                 NAME -> pid of the process `start` started for NAME (check_alive watches them)
#   started_pids           every process `start` started; stopped on exit
#   helper_pids            further background processes to stop on exit (before started_pids)
#   bench_curl_max_time    seconds each of expect_status's (expect_200's) requests may take (default 5)
#   bench_expect_200_hint  appended to expect_status's (expect_200's) failure message, after the log's path
#                          (default none)

HOST=127.0.0.1
bench_name=bench
bench_curl_max_time=5
bench_expect_200_hint=""
bench_kept_what="logs"
tmp=""
keep_tmp=0
failed=0
started_pids=()
helper_pids=()
watchdog_pid=""
declare -gA pid_of=()

# log MESSAGE...: prints "NAME: MESSAGE" to stderr, NAME being bench_name.
log() { echo "$bench_name: $*" >&2; }

# die MESSAGE...: logs MESSAGE and exits 1 (the EXIT trap then stops what was started).
die() {
    log "$@"
    exit 1
}

# unknown_option OPTION: says OPTION is not one the script knows and exits 2.
unknown_option() {
    echo "$bench_name: unknown option '$1' (see --help)" >&2
    exit 2
}

# require COMMAND HINT: dies unless COMMAND is on PATH; HINT says where to get it.
require() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# require_whole_numbers VARIABLE...: dies unless each named variable holds a whole number (digits only).
require_whole_numbers() {
    local name
    for name in "$@"; do
        [[ ${!name} =~ ^[0-9]+$ ]] || die "$name must be a whole number, got '${!name}'"
    done
}

# stop_pids TENTHS PID...: sends TERM to every PID, then waits up to TENTHS tenths of a second for each to
# exit and sends KILL to any that has not.
stop_pids() {
    local tenths=$1 pid
    shift
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq "$tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

# bench_cleanup: the EXIT trap. Stops the watchdog, then helper_pids and started_pids (TERM, up to 5 s
# each, KILL); keeps the temp dir and says so when keep_tmp or failed is set or the exit status is not 0,
# removes it otherwise; exits with the status the script exited with.
bench_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n $watchdog_pid ]]; then kill "$watchdog_pid" 2>/dev/null || true; fi
    stop_pids 50 "${helper_pids[@]}" "${started_pids[@]}"
    if ((keep_tmp || failed || status != 0)); then
        log "$bench_kept_what kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}

# bench_init TEMPLATE KEPT: makes the run's temp dir (mktemp -d TEMPLATE) in tmp, installs the traps
# (EXIT: bench_cleanup, which logs "KEPT kept in DIR" when it keeps the dir; INT: exit 130; TERM:
# exit 143) and starts a watchdog that sends TERM to this script after MAX_RUNTIME seconds, so a stuck
# step cannot hold the machine. The watchdog kills its own sleep when cleanup stops it, so nothing is
# left behind.
bench_init() {
    tmp=$(mktemp -d "$1")
    bench_kept_what=$2
    trap bench_cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "stopped (MAX_RUNTIME=${MAX_RUNTIME}s reached or TERM)"; exit 143' TERM
    bash -c 'sleep "$1" & s=$!; trap "kill \$s; exit 0" TERM; wait "$s" && kill -TERM "$2"' watchdog "$MAX_RUNTIME" $$ &
    watchdog_pid=$!
}

# port_open PORT: succeeds when HOST:PORT accepts a TCP connection.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# wait_for_port NAME PORT PID: waits until HOST:PORT accepts, 15 s at most. Dies with the tail of
# $tmp/NAME.log when PID exits first (after calling on_start_failure NAME, when the caller defines that
# function, e.g. to explain a known cause) or when the 15 s run out.
wait_for_port() {
    local name=$1 port=$2 pid=$3 deadline=$((SECONDS + 15))
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            failed=1
            log "$name exited during start; its log:"
            tail -n 20 "$tmp/$name.log" >&2 || true
            if declare -F on_start_failure >/dev/null; then on_start_failure "$name"; fi
            die "$name did not start"
        fi
        ((SECONDS < deadline)) || { failed=1; tail -n 20 "$tmp/$name.log" >&2 || true; die "$name is not listening on $HOST:$port after 15 s"; }
        sleep 0.1
    done
}

# start NAME PORT COMMAND...: runs COMMAND in the background with its output in $tmp/NAME.log, records it
# in pid_of[NAME] and started_pids, and waits (wait_for_port) until HOST:PORT accepts.
start() {
    local name=$1 port=$2
    shift 2
    "$@" >"$tmp/$name.log" 2>&1 &
    pid_of[$name]=$!
    started_pids+=("$!")
    wait_for_port "$name" "$port" "$!"
}

# expect_status_url NAME URL STATUS [CURL_ARG...]: GET URL with the CURL_ARGs (e.g. -H "apikey: x", or -k
# for the benchmark's self-signed certificate) up to 5 times, 0.3 s apart (each bench_curl_max_time seconds
# at most); dies with the status, the start of the body and the CURL_ARGs unless one answers STATUS.
expect_status_url() {
    local name=$1 url=$2 want=$3 code="" sent=""
    shift 3
    for _ in 1 2 3 4 5; do
        code=$(curl -s -o "$tmp/$name.curl-body" -w '%{http_code}' --max-time "$bench_curl_max_time" "$@" "$url") || true
        [[ $code == "$want" ]] && return 0
        sleep 0.3
    done
    failed=1
    (($#)) && sent=" to a request with curl $*"
    die "$name at $url answered '$code' instead of $want$sent: $(head -c 300 "$tmp/$name.curl-body" 2>/dev/null) (log: $tmp/$name.log$bench_expect_200_hint)"
}

# expect_status NAME PORT STATUS [CURL_ARG...]: expect_status_url for http://HOST:PORT/.
expect_status() {
    local name=$1 port=$2
    shift 2
    expect_status_url "$name" "http://$HOST:$port/" "$@"
}

# expect_200 NAME PORT: expect_status NAME PORT 200, a plain GET /.
expect_200() { expect_status "$1" "$2" 200; }

# check_alive: dies with the tail of its log when a process `start` started is no longer running.
check_alive() {
    local name
    for name in "${!pid_of[@]}"; do
        if ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
            failed=1
            log "$name (pid ${pid_of[$name]}) is no longer running; last lines of its log:"
            tail -n 30 "$tmp/$name.log" >&2 || true
            die "$name died during the run"
        fi
    done
}

# nginx_conf_head NAME WORKER_PROCESSES WORKER_CONNECTIONS RLIMIT_NOFILE ACCESS_LOG: prints the start of
# a config for an nginx run in the foreground (`nginx -p $tmp -c FILE`) with its pid file and temp paths in
# $tmp, named after NAME: the main context, the events block, the `http {` line, the temp paths and
# `access_log ACCESS_LOG;` ("off", or "PATH FORMAT"). RLIMIT_NOFILE "" leaves worker_rlimit_nofile out.
# The caller prints the rest of the http block and its closing brace (e.g. with nginx_proxy_http).
nginx_conf_head() {
    local name=$1 processes=$2 connections=$3 rlimit=$4 access_log=$5 dir
    echo "daemon off;"
    echo "master_process on;"
    echo "pid $tmp/$name.pid;"
    if [[ -n $rlimit ]]; then echo "worker_rlimit_nofile $rlimit;"; fi
    echo "worker_processes $processes;"
    echo "events { worker_connections $connections; }"
    echo "http {"
    for dir in client_body proxy fastcgi uwsgi scgi; do echo "    ${dir}_temp_path $tmp/$name-${dir}-temp;"; done
    echo "    access_log $access_log;"
}

# nginx_proxy_http LISTEN_PORT BACKEND_PORT [DIRECTIVE...]: prints the rest of a reverse proxy's http
# block after nginx_conf_head, closing brace included: listening on HOST:LISTEN_PORT (which may carry
# listen parameters after the port, e.g. "8443 ssl", with the ssl_* directives before) with the gateway's
# client defaults (keep-alive 75 s, header timeout 10 s), proxying `location /` to HOST:BACKEND_PORT over
# HTTP/1.1 with up to 256 idle upstream keep-alive connections. Each DIRECTIVE (e.g.
# "proxy_connect_timeout 1s") is added to `location /`, with a semicolon unless it ends with a block's
# closing brace (e.g. "if ($key_ok = 0) { return 401; }").
nginx_proxy_http() {
    local port=$1 backend_port=$2 directive
    shift 2
    cat <<EOF
    keepalive_requests 100000;
    keepalive_timeout 75s;
    client_header_timeout 10s;
    upstream backend {
        server $HOST:$backend_port;
        keepalive 256;
        keepalive_requests 100000;
        keepalive_timeout 60s;
    }
    server {
        listen $HOST:$port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
EOF
    for directive in "$@"; do
        case "$directive" in
            *'}') echo "            $directive" ;;
            *) echo "            $directive;" ;;
        esac
    done
    cat <<'EOF'
        }
    }
}
EOF
}

# gateway_yaml WORKERS LISTEN_PORT CONTROL_PORT BACKEND_PORT ACCESS_LOG [UPSTREAM_KEY...]: prints a gateway
# config: WORKERS workers listening on HOST:LISTEN_PORT, `access_log: ACCESS_LOG` (a YAML flow mapping such
# as "{enabled: false}"), metrics on, the control listener on HOST:CONTROL_PORT, one upstream "backend"
# with the single node HOST:BACKEND_PORT and up to 256 idle keep-alive connections, plus each UPSTREAM_KEY
# line (e.g. "timeout: {connect: 1, send: 10, read: 10}"), and one route sending every path to it. One
# top-level key a line, so a caller can derive variants with sed.
gateway_yaml() {
    local workers=$1 port=$2 control_port=$3 backend_port=$4 access_log=$5 key
    shift 5
    cat <<EOF
workers: $workers
listen: "$HOST:$port"
access_log: $access_log
metrics: {enabled: true}
control: {listen: "$HOST:$control_port"}
upstreams:
  - id: backend
    nodes: {"$HOST:$backend_port": 1}
    keepalive_pool: {size: 256, idle_timeout: 60, requests: 100000}
EOF
    for key in "$@"; do echo "    $key"; done
    cat <<'EOF'
routes:
  - id: all
    uris: ["/*"]
    upstream_id: backend
EOF
}
