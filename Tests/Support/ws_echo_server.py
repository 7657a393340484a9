#!/usr/bin/env python3
"""WebSocket upstream for the gateway's tunnel tests (Debian's python3-websockets, legacy asyncio API).

Paths:
  /echo            echoes every message; logs the close code and reason the client sent
  /close/CODE      closes at once with CODE and reason "server-bye"
  /flood/BYTES     sends BYTES in 1 MiB binary messages, then the text "done"; writes its progress
                   (bytes handed to the socket) to --progress-file
  /sink            reads nothing until --go-file exists, then counts binary bytes until the text "end"
                   and answers with the count
  /headers         plain HTTP 200 whose JSON body lists the request headers it received (no upgrade)
  /force101        plain HTTP 101 without a handshake (an upstream that switches protocols unasked)
A leading /ws, /h2c, /plain, /idle or /up-tls (the test routes' prefixes) is ignored. With --tls-cert and
--tls-key it also serves the same paths over TLS on a second port (written to --tls-port-file).
"""

import argparse
import asyncio
import http
import json
import os
import ssl
import sys

import websockets


def route_path(path):
    """The path without the test routes' prefix, so each route reaches every path."""
    for prefix in ("/ws/", "/h2c/", "/plain/", "/idle/", "/up-tls/"):
        if path.startswith(prefix):
            return path[len(prefix) - 1 :]
    return path


def log(text):
    print(text, flush=True)


async def wait_for_file(path):
    while not os.path.exists(path):
        await asyncio.sleep(0.02)


def make_handler(args):
    async def handler(ws, path):
        path = route_path(path)
        try:
            if path.startswith("/close/"):
                await ws.close(int(path.split("/")[2]), "server-bye")
            elif path.startswith("/flood/"):
                total = int(path.split("/")[2])
                chunk = os.urandom(1 << 20)
                sent = 0
                while sent < total:
                    size = min(len(chunk), total - sent)
                    await ws.send(chunk[:size])
                    sent += size
                    if args.progress_file:
                        with open(args.progress_file + ".tmp", "w") as f:
                            f.write(str(sent))
                        os.replace(args.progress_file + ".tmp", args.progress_file)
                await ws.send("done")
                await ws.wait_closed()
            elif path == "/sink":
                await wait_for_file(args.go_file)
                total = 0
                async for message in ws:
                    if isinstance(message, str):
                        if message == "end":
                            break
                    else:
                        total += len(message)
                await ws.send(str(total))
                await ws.wait_closed()
            else:
                async for message in ws:
                    await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            log(f"closed {path} code={ws.close_code} reason={ws.close_reason}")

    return handler


async def process_request(path, headers):
    path = route_path(path)
    if path == "/headers":
        body = json.dumps({name.lower(): value for name, value in headers.raw_items()}).encode()
        return http.HTTPStatus.OK, [("Content-Type", "application/json")], body
    if path == "/force101":
        return http.HTTPStatus.SWITCHING_PROTOCOLS, [("Upgrade", "websocket"), ("Connection", "Upgrade")], b""
    return None


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--go-file", default="")
    parser.add_argument("--progress-file", default="")
    parser.add_argument("--tls-cert", default="")
    parser.add_argument("--tls-key", default="")
    parser.add_argument("--tls-port-file", default="")
    args = parser.parse_args()
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        secure = await websockets.serve(
            make_handler(args),
            "127.0.0.1",
            0,
            ssl=context,
            process_request=process_request,
            max_size=None,
            max_queue=1,
            ping_interval=None,
            compression=None,
        )
        port = secure.sockets[0].getsockname()[1]
        with open(args.tls_port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.tls_port_file + ".tmp", args.tls_port_file)
    async with websockets.serve(
        make_handler(args),
        "127.0.0.1",
        0,
        process_request=process_request,
        max_size=None,
        # One queued message and small buffers: a handler that stops reading stops the socket reads soon.
        max_queue=1,
        ping_interval=None,
        # Bytes on the wire as sent: permessage-deflate would shrink the floods to nothing.
        compression=None,
        backlog=2048,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
        log(f"listening on {port}")
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
