#!/usr/bin/env python3
"""WebSocket client for the gateway's tunnel tests (Debian's python3-websockets); prints one JSON result.

Modes (BASE is ws://127.0.0.1:PORT/prefix):
  echo BASE                       text, binary, a 10 MB message, ping/pong, close codes both ways
  early HOST PORT PATH            raw socket: the handshake and a first frame in one write
  idle BASE COUNT READY GO        COUNT tunnels with one echo each; writes READY, waits for GO, echoes again
  slowread BASE BYTES READY GO    asks /flood/BYTES, reads nothing until GO exists, then reads it all
  slowwrite BASE BYTES PROGRESS   sends BYTES to /sink in 1 MiB messages (PROGRESS: bytes sent so far)
  handshake URL                   one handshake; prints the status (101, or the HTTP error's)
  wait URL READY                  opens a tunnel, writes READY, waits for its close; prints code and seconds
  raw HOST PORT PATH PROTOCOL     a plain Upgrade to PROTOCOL (ws_upgrade_server.py): 1 MiB echoed both ways,
                                  then the server closes; a second tunnel that the client closes
  rawidle HOST PORT PATH PROTOCOL opens a plain Upgrade tunnel, sends nothing, waits for its close; seconds
Before the mode, `--ca FILE --sni NAME` makes wss:// URLs trust FILE and send NAME as the server name.
"""

import asyncio
import base64
import json
import os
import socket
import ssl
import sys

import websockets


TLS = {}


def connect(url, **options):
    if url.startswith("wss://"):
        options["ssl"] = ssl.create_default_context(cafile=TLS["ca"])
        options["server_hostname"] = TLS["sni"]
    return websockets.connect(
        url,
        max_size=None,
        max_queue=1,
        ping_interval=None,
        open_timeout=30,
        close_timeout=10,
        compression=None,
        **options,
    )


def write_file(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def wait_for_file(path, timeout=120):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not os.path.exists(path):
        if loop.time() > deadline:
            raise TimeoutError(f"{path} did not appear")
        await asyncio.sleep(0.02)


async def echo(base):
    result = {}
    async with connect(base + "/echo") as ws:
        await ws.send("hello gateway")
        result["text"] = await ws.recv() == "hello gateway"
        binary = bytes(range(256)) * 16
        await ws.send(binary)
        result["binary"] = await ws.recv() == binary
        large = os.urandom(10 * 1024 * 1024)
        await ws.send(large)
        back = await asyncio.wait_for(ws.recv(), 60)
        result["large"] = back == large
        waiter = await ws.ping(b"are-you-there")
        await asyncio.wait_for(waiter, 10)
        result["pong"] = True
        await ws.close(4001, "client-bye")
        result["client_close_echoed"] = ws.close_code
    async with connect(base + "/close/4002") as ws:
        try:
            await asyncio.wait_for(ws.recv(), 10)
            result["server_close"] = None
        except websockets.ConnectionClosed as closed:
            result["server_close"] = closed.rcvd.code if closed.rcvd else None
            result["server_close_reason"] = closed.rcvd.reason if closed.rcvd else None
    return result


def frame(payload, opcode=0x1):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def early(host, port, path):
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    sock = socket.create_connection((host, int(port)), timeout=20)
    sock.sendall(request + frame(b"early-frame"))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    while len(rest) < 2 + len(b"early-frame"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    payload = rest[2 : 2 + (rest[1] & 0x7F)] if len(rest) >= 2 else b""
    sock.close()
    return {"status": status, "head": head.decode(errors="replace"), "echo": payload.decode(errors="replace")}


async def idle(base, count, ready, go):
    sockets = []
    for start in range(0, count, 100):
        batch = await asyncio.gather(*[connect(base + "/echo").__aenter__() for _ in range(start, min(count, start + 100))])
        sockets.extend(batch)
    answers = await asyncio.gather(*[roundtrip(ws, f"first-{i}") for i, ws in enumerate(sockets)])
    write_file(ready, str(sum(answers)))
    await wait_for_file(go)
    again = await asyncio.gather(*[roundtrip(ws, f"second-{i}") for i, ws in enumerate(sockets)])
    await asyncio.gather(*[ws.close(1000, "done") for ws in sockets])
    return {"opened": len(sockets), "first": sum(answers), "second": sum(again)}


async def roundtrip(ws, text):
    await ws.send(text)
    return 1 if await asyncio.wait_for(ws.recv(), 60) == text else 0


async def slowread(base, total, ready, go):
    async with connect(base + f"/flood/{total}") as ws:
        write_file(ready, "connected")
        await wait_for_file(go)
        received = 0
        while True:
            message = await asyncio.wait_for(ws.recv(), 60)
            if isinstance(message, str):
                break
            received += len(message)
        return {"received": received, "last": message}


async def slowwrite(base, total, progress):
    async with connect(base + "/sink") as ws:
        chunk = os.urandom(1 << 20)
        sent = 0
        while sent < total:
            size = min(len(chunk), total - sent)
            await ws.send(chunk[:size])
            sent += size
            write_file(progress, str(sent))
        await ws.send("end")
        counted = await asyncio.wait_for(ws.recv(), 120)
        return {"sent": sent, "counted": int(counted)}


async def wait(url, ready):
    loop = asyncio.get_running_loop()
    async with connect(url) as ws:
        write_file(ready, "open")
        started = loop.time()
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 120)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
        return {"code": code, "seconds": loop.time() - started}


async def handshake(url):
    try:
        async with connect(url) as ws:
            await ws.send("x")
            return {"status": 101, "echo": await ws.recv() == "x"}
    except websockets.InvalidStatusCode as error:
        return {"status": error.status_code}


def raw_open(host, port, path, protocol):
    """A raw socket after its 101 to `Upgrade: protocol`; returns (socket, status, bytes after the head)."""
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: {protocol}\r\nConnection: Upgrade\r\n\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return sock, status, rest


def read_until_closed(sock, data=b""):
    """Reads until the peer closes; returns what came."""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def raw(host, port, path, protocol):
    import threading

    result = {}
    sock, result["status"], rest = raw_open(host, port, path, protocol)
    payload = os.urandom(1 << 20)
    sender = threading.Thread(target=sock.sendall, args=(payload,))
    sender.start()
    echoed = rest
    while len(echoed) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            break
        echoed += chunk
    sender.join()
    result["echoed"] = echoed == payload
    # The server closes: the client sees the close after the server's last bytes.
    sock.sendall(b"close-please")
    result["server_close"] = read_until_closed(sock).decode(errors="replace")
    sock.close()
    # The client closes: the server sees it (its log says so).
    sock, status, rest = raw_open(host, port, path, protocol)
    sock.sendall(b"ping")
    back = rest
    while len(back) < 4:
        chunk = sock.recv(65536)
        if not chunk:
            break
        back += chunk
    result["second_status"] = status
    result["ping"] = back.decode(errors="replace")
    sock.close()
    return result


def rawidle(host, port, path, protocol):
    import time

    sock, status, _ = raw_open(host, port, path, protocol)
    started = time.monotonic()
    sock.settimeout(120)
    read_until_closed(sock)
    return {"status": status, "seconds": time.monotonic() - started}


def main():
    argv = sys.argv[1:]
    if argv[0] == "--ca":
        TLS["ca"], TLS["sni"], argv = argv[1], argv[3], argv[4:]
    mode, args = argv[0], argv[1:]
    if mode == "echo":
        result = asyncio.run(echo(args[0]))
    elif mode == "early":
        result = early(args[0], args[1], args[2])
    elif mode == "idle":
        result = asyncio.run(idle(args[0], int(args[1]), args[2], args[3]))
    elif mode == "slowread":
        result = asyncio.run(slowread(args[0], int(args[1]), args[2], args[3]))
    elif mode == "slowwrite":
        result = asyncio.run(slowwrite(args[0], int(args[1]), args[2]))
    elif mode == "wait":
        result = asyncio.run(wait(args[0], args[1]))
    elif mode == "raw":
        result = raw(*args[:4])
    elif mode == "rawidle":
        result = rawidle(*args[:4])
    elif mode == "handshake":
        result = asyncio.run(handshake(args[0]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
