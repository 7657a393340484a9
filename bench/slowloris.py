#!/usr/bin/env python3
"""Keep N slowloris connections open against a loopback server: a request line, then one header byte
every few seconds, never finishing the header block.

Used by bench/run.sh --slowloris. A connection the server closes (for example after its header
timeout, with or without a 408) is counted and replaced, so N stay open for as long as this runs.
Prints `READY open=..` once the first N are connected, and on SIGTERM/SIGINT
`DONE opened=.. closed_by_peer=.. responses=..` (responses: status codes the server sent back).
"""

import argparse
import asyncio
import ipaddress
import itertools
import resource
import signal
import sys

HEADER_BYTES = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"


async def one_slow_connection(host, port, interval, stats, connected, stop):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, asyncio.TimeoutError):
            stats["connect_failed"] += 1
            await asyncio.sleep(interval)
            continue
        stats["opened"] += 1
        connected.release()
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
            for byte in itertools.cycle(HEADER_BYTES):
                try:
                    data = await asyncio.wait_for(reader.read(4096), interval)
                except asyncio.TimeoutError:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    continue
                if not data:
                    stats["closed_by_peer"] += 1
                    break
                if data.startswith(b"HTTP/1."):
                    code = data[9:12].decode("latin-1", "replace")
                    stats["responses"][code] = stats["responses"].get(code, 0) + 1
        except (OSError, asyncio.IncompleteReadError):
            stats["closed_by_peer"] += 1
        finally:
            writer.transport.abort()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between header bytes")
    parser.add_argument("--hold", type=float, default=600, help="seconds to run at most")
    args = parser.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("slowloris: only loopback targets are allowed")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.count + 64:
        sys.exit(f"slowloris: open-file limit {hard} is below the {args.count + 64} descriptors needed")

    stats = {"opened": 0, "closed_by_peer": 0, "connect_failed": 0, "responses": {}}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    connected = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(one_slow_connection(args.host, args.port, args.interval, stats, connected, stop))
             for _ in range(args.count)]
    for _ in range(args.count):
        await connected.acquire()
    print(f"READY open={args.count}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), args.hold)
    except asyncio.TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    responses = ",".join(f"{k}:{v}" for k, v in sorted(stats["responses"].items())) or "none"
    print(f"DONE opened={stats['opened']} closed_by_peer={stats['closed_by_peer']} "
          f"connect_failed={stats['connect_failed']} responses={responses}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
