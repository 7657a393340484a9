#!/usr/bin/env python3
"""A threaded HTTP/1.1 backend whose listening socket has a listen backlog of 5 (bench/panic_burst.sh).

GET / answers 200 with a small body, on keep-alive connections, one thread per connection. The point is
the backlog: when a proxy opens many upstream connections at once, the kernel's accept queue (5 + 1
entries) overflows, further SYNs are dropped, and those connects only complete after the client's SYN
retransmission (1 s), i.e. they hit a 1 s connect timeout.

A second listener on --stats-port (ordinary backlog, not proxied) answers GET /stats with one line,
"inflight N served N connections N", so the bench can wait until the backend is idle.
Prints "READY" once both listeners are bound. Stdlib only.
"""

import argparse
import http.server
import sys
import threading

BODY = b"hello from the slow-backlog backend\n"


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.inflight = 0
        self.served = 0
        self.connections = 0

    def add(self, name, delta):
        with self.lock:
            setattr(self, name, getattr(self, name) + delta)

    def line(self):
        with self.lock:
            return f"inflight {self.inflight} served {self.served} connections {self.connections}\n"


COUNTERS = Counters()


class SlowBacklogServer(http.server.ThreadingHTTPServer):
    request_queue_size = 5  # socket.listen(5)
    daemon_threads = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        COUNTERS.add("connections", 1)

    def do_GET(self):
        COUNTERS.add("inflight", 1)
        try:
            if self.path != "/":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
            COUNTERS.add("served", 1)
        finally:
            COUNTERS.add("inflight", -1)

    def log_message(self, format, *args):
        pass


class StatsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = COUNTERS.line().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-port", type=int, required=True)
    args = parser.parse_args()

    server = SlowBacklogServer((args.host, args.port), Handler)
    stats = http.server.ThreadingHTTPServer((args.host, args.stats_port), StatsHandler)
    stats.daemon_threads = True
    threading.Thread(target=stats.serve_forever, daemon=True).start()
    print(f"READY backlog {server.request_queue_size} on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stats.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
