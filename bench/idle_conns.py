#!/usr/bin/env python3
"""Open N keep-alive client connections, send one request on each, read the response, then hold them idle.

With --tls each connection first completes a TLS handshake (the certificate is not verified: the
benchmark's is self-signed), so the server holds N idle TLS sessions.

Used by bench/run.sh --idle-connections to measure how much memory a server keeps per idle client
connection. Prints one line `READY open=.. ok=.. failed=..` once every connection has its response
(run.sh waits for it, then samples the server's RSS), holds the connections until SIGTERM/SIGINT or
--hold seconds, and prints `DONE open=.. closed_by_peer=..` on the way out.
Only loopback targets are accepted: this is a benchmark helper, not a load tool.
"""

import argparse
import asyncio
import ipaddress
import resource
import signal
import ssl
import sys


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft < needed:
        sys.exit(f"idle_conns: open-file limit {soft} is below the {needed} descriptors needed")


async def read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response with a Content-Length body; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "transfer-encoding":
            raise ValueError("chunked responses are not expected from the benchmark backend")
    if length:
        await reader.readexactly(length)
    return status


async def open_one(host, port, path, gate, writers, stats, tls):
    async with gate:
        try:
            if tls is None:
                connecting = asyncio.open_connection(host, port)
            else:
                connecting = asyncio.open_connection(host, port, ssl=tls, server_hostname=host)
            reader, writer = await asyncio.wait_for(connecting, 10)
            request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: idle_conns\r\n\r\n"
            writer.write(request.encode())
            status = await asyncio.wait_for(read_response(reader), 10)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, ssl.SSLError) as error:
            stats["failed"] += 1
            stats["errors"][type(error).__name__] = stats["errors"].get(type(error).__name__, 0) + 1
            return
    if status == 200:
        stats["ok"] += 1
    else:
        stats["non200"] += 1
    writers.append((reader, writer))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--concurrency", type=int, default=128,
                        help="connections being opened at once (bounds the upstream connections a proxy opens)")
    parser.add_argument("--hold", type=float, default=600, help="seconds to hold the connections at most")
    parser.add_argument("--tls", action="store_true", help="connect over TLS (certificate not verified)")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("idle_conns: only loopback targets are allowed")
    raise_fd_limit(args.count + 64)

    tls = None
    if args.tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    stats = {"ok": 0, "non200": 0, "failed": 0, "errors": {}}
    writers = []
    gate = asyncio.Semaphore(args.concurrency)
    await asyncio.gather(*(open_one(args.host, args.port, args.path, gate, writers, stats, tls)
                           for _ in range(args.count)))
    errors = ",".join(f"{k}:{v}" for k, v in sorted(stats["errors"].items())) or "none"
    print(f"READY open={len(writers)} ok={stats['ok']} non200={stats['non200']} "
          f"failed={stats['failed']} errors={errors}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), args.hold)
    except asyncio.TimeoutError:
        pass
    closed = sum(1 for reader, _ in writers if reader.at_eof())
    print(f"DONE open={len(writers) - closed} closed_by_peer={closed}", flush=True)
    for _, writer in writers:
        writer.transport.abort()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
