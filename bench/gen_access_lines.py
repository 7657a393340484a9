#!/usr/bin/env python3
"""Writes N JSON access-log lines shaped like AccessLogBenchmarks' SampleTraffic with gateway-style
request ids (a random per-process prefix and a counter) to stdout. Usage: gen_access_lines.py N"""
import math
import random
import sys
import time

random.seed(1)
routes = ["orders", "users", "catalog", "search", "auth", "cart", "payments", "static"]
nodes = [f"10.0.{i // 4}.{10 + i}:8080" for i in range(12)]
agents = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "okhttp/4.12.0", "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1", "Prometheus/2.42.0",
    "kube-probe/1.28",
]
resources = ["orders", "users", "items", "products", "carts", "sessions", "search", "assets"]
prefix = "%016x" % random.getrandbits(64)
start = 1_700_000_000_000_000_000
out = sys.stdout
for i in range(int(sys.argv[1])):
    t = start + i * 10_000
    r = random.randrange(8)
    path = f"/api/v1/{resources[r]}/{random.randrange(1, 200000)}"
    if random.randrange(4) == 0:
        path += f"?page={random.randrange(1, 20)}"
    roll = random.randrange(1000)
    status = 200 if roll < 850 else 201 if roll < 900 else 304 if roll < 940 else 404 if roll < 980 else 500 if roll < 995 else 504
    duration = int(math.exp(random.uniform(11, 16)))
    upstream = duration - 150_000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)) + ".%03dZ" % (t // 10**6 % 1000)
    out.write(
        '{"time":"%s","request_id":"%s%016x","client":"10.%d.%d.%d","method":"%s","path":"%s",'
        '"protocol":"HTTP/1.1","status":%d,"bytes_in":%d,"bytes_out":%d,"duration":%d.%06d,"upstream":"%s"%s,'
        '"upstream_duration":%d.%06d,"route":"%s","user_agent":"%s"%s}\n'
        % (stamp, prefix, i, random.randrange(4), random.randrange(32), random.randrange(1, 255),
           "POST" if roll % 7 == 0 else "GET", path, status, random.randrange(180, 900),
           int(math.exp(random.uniform(5, 12))), duration // 10**9, duration // 1000 % 10**6,
           random.choice(nodes), "" if status == 504 else ',"upstream_status":%d' % status,
           upstream // 10**9, upstream // 1000 % 10**6, routes[r],
           agents[min(int(random.random() * 7.5), 7)], ',"error":"upstream_timeout"' if status == 504 else ""))
