#!/usr/bin/env python3
"""A raw upstream for the gateway's non-WebSocket Upgrade tunnels (stdlib only).

Usage: ws_upgrade_server.py --port-file PATH   (binds 127.0.0.1:0 and writes the port to PATH)

A request with an `Upgrade` header gets `101 Switching Protocols` naming the same protocol; after it the
connection echoes every byte, except that a read containing `close-please` is answered with `bye\\n` and
the server closes. When the client closes first it logs `peer closed after N bytes`. Requests without
`Upgrade` get 426.
"""

import argparse
import os
import socket
import threading


def log(text):
    print(text, flush=True)


def serve(sock):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        protocol = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"upgrade":
                protocol = value.strip()
        if protocol is None:
            sock.sendall(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + protocol + b"\r\nConnection: Upgrade\r\n\r\n"
        )
        echoed = 0
        pending = rest
        while True:
            if pending:
                if b"close-please" in pending:
                    sock.sendall(b"bye\n")
                    log("server closed after %d bytes" % echoed)
                    return
                sock.sendall(pending)
                echoed += len(pending)
            pending = sock.recv(65536)
            if not pending:
                log("peer closed after %d bytes" % echoed)
                return
    except OSError as error:
        log("connection error: %s" % error)
    finally:
        sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    log("listening on %d" % port)
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
