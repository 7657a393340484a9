#!/usr/bin/python3
"""WebSocket echo round-trip latency, for bench/run.sh's websocket scenario.

Opens --connections WebSocket connections to --url (an echo server, directly or through a proxy), then on
each sends a --size byte text message and waits for its echo, one after another, until the connection has
sent --messages messages (0: no count) or --duration seconds have passed, whichever comes first. The
connections run at once, in one asyncio loop. Every echo is checked against what was sent; the round trip
is timed from just before the send to the echo's arrival (time.perf_counter_ns). Prints, on stdout:

    Connections: K
    Messages: N in S s (R per second)
    Latency us: p50 P50 p90 P90 p99 P99 max MAX mean MEAN
    Errors: E (first: ...)

The connection handshakes are not timed. Exits 1 when a connection could not be opened or no message came
back. Needs Debian's python3-websockets (run it with /usr/bin/python3).
"""

import argparse
import asyncio
import sys
import time

import websockets


def percentile(values, fraction):
    """The nearest-rank percentile of sorted values."""
    index = max(0, min(len(values) - 1, int(round(fraction * len(values) + 0.5)) - 1))
    return values[index]


async def one_connection(args, deadline, samples, errors):
    try:
        async with websockets.connect(args.url, ping_interval=None, compression=None, max_size=None,
                                      open_timeout=5, close_timeout=2) as ws:
            payload = "x" * args.size
            sent = 0
            while (args.messages == 0 or sent < args.messages) and time.monotonic() < deadline:
                start = time.perf_counter_ns()
                await ws.send(payload)
                echo = await asyncio.wait_for(ws.recv(), timeout=5)
                samples.append(time.perf_counter_ns() - start)
                sent += 1
                if echo != payload:
                    errors.append(f"echo {len(echo)} bytes differs from the {len(payload)} sent")
                    return
    except Exception as error:  # noqa: BLE001 - every failure is counted and reported
        errors.append(f"{type(error).__name__}: {error}")


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="ws://HOST:PORT/echo")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--messages", type=int, default=0, help="per connection; 0: until --duration")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds, the bound of the run")
    parser.add_argument("--size", type=int, default=32, help="bytes per message")
    args = parser.parse_args()
    samples, errors = [], []
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(*(one_connection(args, deadline, samples, errors) for _ in range(args.connections)))
    elapsed = time.monotonic() - started
    print(f"Connections: {args.connections}")
    print(f"Messages: {len(samples)} in {elapsed:.2f} s ({len(samples) / elapsed:.1f} per second)")
    if samples:
        values = sorted(samples)
        us = lambda ns: f"{ns / 1000:.1f}"  # noqa: E731
        print(f"Latency us: p50 {us(percentile(values, 0.50))} p90 {us(percentile(values, 0.90))} "
              f"p99 {us(percentile(values, 0.99))} max {us(values[-1])} mean {us(sum(values) / len(values))}")
    print(f"Errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    return 0 if samples and len(errors) < args.connections else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
