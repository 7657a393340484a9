#!/usr/bin/env python3
"""The h2, h2c and websocket tables of bench/run.sh, from the same records file as bench/report.py.

report.py prints the other scenarios' tables and leaves these out; run.sh runs this after it with the
same arguments. Records it reads (tab-separated, see report.py for the rest):
  round    TARGET ROUND REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS CPU_US SCENARIO RESUMED CLIENT_CPU_US
           (SCENARIO h2, h2c or websocket; in websocket REQ_PER_S is messages/s, CPU_US per message)
  wslat    TARGET ROUND MESSAGES P50_MS P90_MS P99_MS MAX_MS MEAN_MS ERRORS (a websocket round)
  meta     settings:h2, settings:h2c, settings:websocket
Usage: report_h2ws.py RECORDS [--markdown FILE]  (markdown appended to FILE, else printed after the text)
"""

import argparse
import math
import statistics

import report

H2_TARGETS = ["nginx-h2", "haproxy-h2", "gateway-h2", "nginx-h2c", "haproxy-h2c", "gateway-h2c"]
WS_TARGETS = ["ws-direct", "nginx-ws", "haproxy-ws", "gateway-ws"]
LABELS = {
    "nginx-h2": "nginx 1.22 proxy, HTTP/2 over TLS",
    "haproxy-h2": "HAProxy 2.6 proxy, HTTP/2 over TLS",
    "gateway-h2": "gateway, HTTP/2 over TLS (metrics + access log on)",
    "nginx-h2c": "nginx 1.22 proxy, h2c",
    "haproxy-h2c": "HAProxy 2.6 proxy, h2c",
    "gateway-h2c": "gateway, h2c (metrics + access log on)",
    "ws-direct": "echo server direct (no proxy)",
    "nginx-ws": "nginx 1.22 proxy",
    "haproxy-ws": "HAProxy 2.6 proxy",
    "gateway-ws": "gateway, enable_websocket (metrics + access log on)",
}
TITLES = {
    "h2": "h2: HTTP/2 over TLS, streams proxied over HTTP/1.1 keep-alive (h2load)",
    "h2c": "h2c: HTTP/2 in clear text, prior knowledge (h2load)",
}
REFERENCES = {"h2": "nginx-h2", "h2c": "nginx-h2c"}
# The target: the gateway's h2 throughput at least nginx's.
GOALS = {"h2": ("gateway-h2", 1.0, None), "h2c": ("gateway-h2c", 1.0, None)}


def load_wslat(path):
    """{target: [(messages, p50, p90, p99, max, mean, errors)]} from the wslat records."""
    rows = {}
    with open(path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            if fields[0] != "wslat":
                continue
            target = fields[1]
            rows.setdefault(target, []).append((int(fields[3]), *(float(x) for x in fields[4:9]), int(fields[9])))
    return rows


def ws_rows(rounds, latency):
    """One row per websocket target: messages/s, p50/p90/p99 (median over rounds, and per round), the
    p50 and p99 added to the direct baseline's, the proxy's CPU per message."""
    direct = latency.get("ws-direct")
    direct_p50 = statistics.median(r[1] for r in direct) if direct else None
    direct_p99 = statistics.median(r[3] for r in direct) if direct else None
    nginx = latency.get("nginx-ws")
    nginx_p50 = statistics.median(r[1] for r in nginx) if nginx else None
    nginx_p99 = statistics.median(r[3] for r in nginx) if nginx else None
    rows = []
    for target in WS_TARGETS:
        if target not in latency:
            continue
        samples = latency[target]
        p50 = statistics.median(r[1] for r in samples)
        p90 = statistics.median(r[2] for r in samples)
        p99 = statistics.median(r[3] for r in samples)
        messages = sum(r[0] for r in samples)
        errors = sum(r[6] for r in samples)
        rates = [r[0] for r in rounds.get(target, [])]
        cpus = [r[4] for r in rounds.get(target, []) if not math.isnan(r[4])]
        cpu = statistics.median(cpus) if cpus else None
        cpu_cell = "n/a" if cpu is None else f"{cpu:.2f}"
        if target == "ws-direct" and cpu is not None:
            cpu_cell = f"({cpu:.2f} echo server)"
        rows.append([
            LABELS[target],
            " / ".join(f"{r:.0f}" for r in rates) if rates else "n/a",
            " / ".join(f"{r[1]:.3f}" for r in samples),
            f"{p50:.3f} ms",
            f"{p90:.3f} ms",
            " / ".join(f"{r[3]:.3f}" for r in samples),
            f"{p99:.3f} ms",
            f"{(p50 - direct_p50) * 1000:+.0f} µs" if direct_p50 is not None and target != "ws-direct" else "-",
            f"{(p99 - direct_p99) * 1000:+.0f} µs" if direct_p99 is not None and target != "ws-direct" else "-",
            f"{p50 / nginx_p50:.2f}x" if nginx_p50 and target != "ws-direct" else "-",
            f"{p99 / nginx_p99:.2f}x" if nginx_p99 and target != "ws-direct" else "-",
            cpu_cell,
            f"{messages} / {errors}",
        ])
    header = ["target", "messages/s per round", "p50 per round (ms)", "median p50", "median p90", "p99 per round (ms)",
              "median p99", "p50 over direct", "p99 over direct", "p50 vs nginx", "p99 vs nginx",
              "proxy CPU µs/message", "messages / errors"]
    return header, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("records")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    meta, rounds, _, _, _, _ = report.load(args.records)
    latency = load_wslat(args.records)
    # report.py's throughput table, with these targets known to it.
    report.ORDER.extend(H2_TARGETS)
    report.LABELS.update(LABELS)

    tables = []  # (title, (header, rows), intro, line after)
    for scenario in ("h2", "h2c"):
        if scenario not in rounds:
            continue
        runs = rounds[scenario]
        reference = REFERENCES[scenario]
        table = report.throughput_rows(runs, compare=reference in runs, reference=reference, client_cpu=True)
        report.GOALS.update(GOALS)
        report.REFERENCES.update(REFERENCES)
        tables.append((TITLES[scenario], table, meta.get(f"settings:{scenario}"), report.goal_line(scenario, runs)))
    if latency:
        tables.append(("websocket: echo round trips, one message at a time per connection", ws_rows(rounds.get("websocket", {}), latency),
                       meta.get("settings:websocket"), None))

    for title, (header, rows), _, after in tables:
        print(f"\n{title}\n")
        print(report.text_table(header, rows))
        if after:
            print(f"\n{after}")
    md = []
    for title, (header, rows), intro, after in tables:
        md += [f"{title}. {intro}" if intro else f"{title}:", "", report.markdown_table(header, rows), ""]
        if after:
            md += [after + ".", ""]
    markdown = "\n".join(md)
    if args.markdown:
        with open(args.markdown, "a") as file:
            file.write("\n" + markdown)
        print(f"\nh2 and websocket tables appended to {args.markdown}")
    else:
        print("\n" + markdown)


if __name__ == "__main__":
    main()
