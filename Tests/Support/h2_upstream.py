#!/usr/bin/env python3
"""A raw HTTP/1.1 upstream for the gateway's HTTP/2 request tests: it reports the request framing and
trailers exactly as they arrived (http.server hides both), and can hold a body unread (stdlib only).

Usage: h2_upstream.py --port-file PATH   (binds 127.0.0.1:0 and writes the port to PATH)

Endpoints (the last path segment selects one, so /prefix/record works):
  /record           reads the body (content-length or chunked, with its trailer section); JSON
                    {framing, body_bytes, trailers: [[name, value]...], headers: [[name, value]...]}
  /sink?go=PATH     reads nothing until PATH exists, then reads the body; JSON {bytes, sha256}
The listening socket has a small receive buffer, so an unread body stops the sender soon.
"""

import argparse
import hashlib
import json
import os
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

RECEIVE_BUFFER = 64 * 1024


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def line(self):
        while b"\r\n" not in self.buffer:
            self.fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def exactly(self, count, sink):
        while count > 0:
            if not self.buffer:
                self.fill()
            piece = self.buffer[:count]
            self.buffer = self.buffer[len(piece):]
            count -= len(piece)
            sink(piece)

    def head(self):
        request = self.line()
        headers = []
        while True:
            line = self.line()
            if not line:
                break
            name, _, value = line.partition(b":")
            headers.append([name.decode("latin-1").strip(), value.decode("latin-1").strip()])
        return request.decode("latin-1"), headers

    def body(self, headers, sink):
        """Reads the body; returns (framing, trailers)."""
        names = {name.lower(): value for name, value in headers}
        if names.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.line().split(b";")[0].strip(), 16)
                if size == 0:
                    break
                self.exactly(size, sink)
                self.line()
            trailers = []
            while True:
                line = self.line()
                if not line:
                    break
                name, _, value = line.partition(b":")
                trailers.append([name.decode("latin-1").strip(), value.decode("latin-1").strip()])
            return "chunked", trailers
        if "content-length" in names:
            self.exactly(int(names["content-length"]), sink)
            return "length", []
        return "none", []

    def reply(self, value):
        body = json.dumps(value).encode()
        self.sock.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )


def serve(sock):
    connection = Connection(sock)
    try:
        while True:
            request, headers = connection.head()
            target = request.split(" ")[1]
            url = urlsplit(target)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            endpoint = url.path.rstrip("/").split("/")[-1]
            if endpoint == "sink":
                go = query.get("go", "")
                while go and not os.path.exists(go):
                    time.sleep(0.02)
            digest = hashlib.sha256()
            count = [0]

            def sink(piece):
                digest.update(piece)
                count[0] += len(piece)

            framing, trailers = connection.body(headers, sink)
            if endpoint == "sink":
                connection.reply({"bytes": count[0], "sha256": digest.hexdigest()})
            else:
                connection.reply(
                    {"framing": framing, "body_bytes": count[0], "trailers": trailers, "headers": headers}
                )
    except (EOFError, ConnectionError, OSError, ValueError, IndexError):
        pass
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Set before listen so accepted sockets inherit it (and a small window) from the handshake on.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    print("listening on %d" % port, flush=True)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
