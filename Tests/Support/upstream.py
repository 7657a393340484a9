#!/usr/bin/env python3
"""A real HTTP/1.1 upstream for the gateway's integration tests (stdlib only).

Usage: upstream.py --port N [--port-file PATH] [--delay S] [--force-status N] [--nodelay]
--delay S sleeps S seconds before every request but /count; --force-status N answers every request but /count
with status N (both for node-specific behaviour behind one gateway upstream); --nodelay sets TCP_NODELAY on
accepted connections.
With --port 0 the kernel picks the port; it is written to --port-file (and stdout) once listening.

Endpoints (the first path segment naming an endpoint selects it, so /prefix/headers works too):
  /echo                 echo the request body (Content-Length); X-Echo-Method carries the method
  /headers              JSON: method, target, headers (ordered pairs), peer_port, conn_id, conn_requests
  /big?size=N           N pattern bytes with Content-Length, written in 64 KiB pieces; X-Body-Sha256
  /chunked?chunks=N&size=M   chunked response, trailer X-Checksum (sha256 of the body)
  /close?size=N         no Content-Length, body delimited by closing the connection
  /slow?delay=S         sleep S seconds, then 200 "slept"
  /hang                 never responds
  /hold?key=K&max=S     holds the request until /release?key=K (or S seconds, default 120), then 200 "released"
                        (or 200 "hold expired"): a request in flight for exactly as long as a test needs
  /release?key=K        releases the holds on K, present and future; not counted, like /count
  /status/N             status N (no body for 1xx/204/304)
  /upload               streams a CL or chunked body; JSON {bytes, sha256}
  /early                a 103 Early Hints interim response, then 200 "after hints"
  /bad                  malformed response: Content-Length together with Transfer-Encoding: chunked
  /whoami?delay=S       JSON {"port": the server's own port}, after sleeping S seconds (default 0)
  /count                JSON {connections, requests}: connections that carried at least one request other than
                        /count (so readiness probes and /count itself are not counted), and those requests
"""

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ENDPOINTS = {
    "early", "echo", "headers", "big", "chunked", "close", "slow", "hang", "hold", "release", "status", "upload", "bad",
    "count", "whoami",
}
UNCOUNTED = {"count", "release"}
OPTIONS = None
PIECE = 64 * 1024
PATTERN = bytes((i * 31 + 7) % 251 for i in range(PIECE))


def pattern_bytes(size):
    """Yields `size` bytes of the repeating pattern in pieces of at most 64 KiB."""
    while size > 0:
        n = min(size, PIECE)
        yield PATTERN[:n]
        size -= n


def pattern_sha256(size):
    digest = hashlib.sha256()
    for piece in pattern_bytes(size):
        digest.update(piece)
    return digest.hexdigest()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0

        self.accepted = 0

    def connection(self):
        with self.lock:
            self.accepted += 1
            return self.accepted

    def request(self, first_on_connection):
        with self.lock:
            self.requests += 1
            if first_on_connection:
                self.connections += 1


STATS = Stats()
HOLDS = {}
HOLDS_LOCK = threading.Lock()


def hold_event(key):
    """The event /hold?key=K waits on and /release?key=K sets."""
    with HOLDS_LOCK:
        return HOLDS.setdefault(key, threading.Event())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "it-upstream"

    def setup(self):
        super().setup()
        if OPTIONS is not None and OPTIONS.nodelay:
            # Head and body go out in separate writes; without this, Nagle plus the peer's delayed ACK add ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = STATS.connection()
        self.conn_requests = 0

    def log_message(self, format, *args):  # keep test output quiet
        pass

    # --- request bodies -------------------------------------------------------------------------

    def body_pieces(self):
        """Yields the request body as it arrives (Content-Length or chunked), never whole."""
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise ValueError("unsupported transfer-encoding")
            while True:
                line = self.rfile.readline(4096)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size > 0:
                    piece = self.rfile.read(min(size, PIECE))
                    if not piece:
                        raise ValueError("short chunk")
                    size -= len(piece)
                    yield piece
                self.rfile.readline(16)
            return
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            piece = self.rfile.read(min(remaining, PIECE))
            if not piece:
                raise ValueError("short body")
            remaining -= len(piece)
            yield piece

    def client_subject(self):
        getpeercert = getattr(self.connection, "getpeercert", None)
        certificate = getpeercert() if getpeercert else None
        if not certificate:
            return None
        return ",".join("%s=%s" % pair for part in certificate.get("subject", ()) for pair in part)

    def drain_body(self):
        for _ in self.body_pieces():
            pass

    # --- responses ------------------------------------------------------------------------------

    def reply(self, status, body=b"", content_type="text/plain", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def reply_json(self, value, status=200):
        self.reply(status, json.dumps(value).encode(), "application/json")

    def handle_any(self):
        self.conn_requests += 1
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        segments = [s for s in url.path.split("/") if s]
        endpoint, args = None, []
        for i, segment in enumerate(segments):
            if segment in ENDPOINTS:
                endpoint, args = segment, segments[i + 1 :]
                break
        if endpoint not in UNCOUNTED:
            self.counted = getattr(self, "counted", 0) + 1
            STATS.request(first_on_connection=self.counted == 1)
        if endpoint not in UNCOUNTED and OPTIONS is not None:
            if OPTIONS.delay > 0:
                time.sleep(OPTIONS.delay)
            if OPTIONS.force_status:
                self.drain_body()
                return self.reply(OPTIONS.force_status, b"forced status %d" % OPTIONS.force_status)
        if endpoint == "upload":
            digest, count = hashlib.sha256(), 0
            for piece in self.body_pieces():
                digest.update(piece)
                count += len(piece)
            return self.reply_json({"bytes": count, "sha256": digest.hexdigest(), "method": self.command})
        if endpoint == "echo":
            body = b"".join(self.body_pieces())
            return self.reply(200, body, "application/octet-stream", [("X-Echo-Method", self.command)])
        self.drain_body()
        if endpoint == "headers":
            return self.reply_json(
                {
                    "method": self.command,
                    "target": self.path,
                    "headers": [[k, v] for k, v in self.headers.items()],
                    "peer_port": self.client_address[1],
                    "conn_id": self.conn_id,
                    "conn_requests": self.conn_requests,
                    "tls": hasattr(self.connection, "version") and self.connection.version() or None,
                    "client_subject": self.client_subject(),
                }
            )
        if endpoint == "whoami":
            time.sleep(float(query.get("delay", "0")))
            return self.reply_json({"port": self.server.server_address[1]})
        if endpoint == "count":
            with STATS.lock:
                return self.reply_json({"connections": STATS.connections, "requests": STATS.requests})
        if endpoint == "big":
            size = int(query.get("size", "0"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("X-Body-Sha256", pattern_sha256(size))
            self.end_headers()
            if self.command != "HEAD":
                for piece in pattern_bytes(size):
                    self.wfile.write(piece)
            return
        if endpoint == "chunked":
            chunks, size = int(query.get("chunks", "3")), int(query.get("size", "10"))
            digest = hashlib.sha256()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for _ in range(chunks):
                piece = b"".join(pattern_bytes(size))
                digest.update(piece)
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.write(b"0\r\nX-Checksum: " + digest.hexdigest().encode() + b"\r\n\r\n")
            return
        if endpoint == "close":
            size = int(query.get("size", "0"))
            self.close_connection = True
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
            for piece in pattern_bytes(size):
                self.wfile.write(piece)
            return
        if endpoint == "slow":
            time.sleep(float(query.get("delay", "1")))
            return self.reply(200, b"slept")
        if endpoint == "hold":
            released = hold_event(query.get("key", "")).wait(float(query.get("max", "120")))
            return self.reply(200, b"released" if released else b"hold expired")
        if endpoint == "release":
            hold_event(query.get("key", "")).set()
            return self.reply(200, b"ok")
        if endpoint == "hang":
            while True:
                time.sleep(3600)
        if endpoint == "status":
            status = int(args[0]) if args else 200
            return self.reply(status, b"" if status in (204, 304) else b"status %d" % status)
        if endpoint == "early":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            return self.reply(200, b"after hints")
        if endpoint == "bad":
            self.close_connection = True
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            )
            return
        return self.reply(404, b"no such endpoint: " + self.path.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--delay", type=float, default=0)
    parser.add_argument("--force-status", type=int, default=0)
    parser.add_argument("--nodelay", action="store_true")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain) ...")
    parser.add_argument("--tls-key", help="... and this key")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    options = parser.parse_args()
    global OPTIONS
    OPTIONS = options
    server = Server(("127.0.0.1", options.port), Handler)
    if options.tls_cert:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(options.tls_cert, options.tls_key)
        if options.tls_client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(options.tls_client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    if options.port_file:
        with open(options.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os

        os.rename(options.port_file + ".tmp", options.port_file)
    print(port, flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
