#!/usr/bin/env python3
"""Turn the tab-separated records bench/run.sh collects into a text table and a markdown section.

Records (one per line, tab-separated, first field is the kind):
  meta     KEY VALUE
  round    TARGET ROUND REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS [CPU_US_PER_REQUEST]
  startrss TARGET KB
  idle     TARGET N RSS_BEFORE_KB RSS_AFTER_KB CLIENT_SUMMARY
  slow     TARGET N REQ_PER_S_WITHOUT P99_WITHOUT REQ_PER_S_WITH P99_WITH ERRORS_WITH CLIENT_SUMMARY
Usage: report.py RECORDS [--markdown FILE]  (markdown goes to FILE, else to stdout after the text table)
"""

import argparse
import math
import statistics
import sys

ORDER = ["backend", "nginx", "haproxy", "gateway", "gateway-bare", "gateway-epoll"]
LABELS = {
    "backend": "backend direct (ceiling)",
    "nginx": "nginx 1.22 proxy",
    "haproxy": "HAProxy 2.6 proxy",
    "gateway": "gateway (metrics + access log on)",
    "gateway-bare": "gateway (metrics + access log off)",
    "gateway-epoll": "gateway, epoll engine (metrics + access log on)",
}


def load(path):
    meta, rounds, startrss, idle, slow = {}, {}, {}, {}, {}
    with open(path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            kind, rest = fields[0], fields[1:]
            if kind == "meta":
                meta[rest[0]] = rest[1]
            elif kind == "round":
                # CPU µs/request is missing from records written before it was measured.
                cpu = float(rest[6]) if len(rest) > 6 else math.nan
                rounds.setdefault(rest[0], []).append(
                    (float(rest[2]), float(rest[3]), int(rest[4]), int(rest[5]), cpu))
            elif kind == "startrss":
                startrss[rest[0]] = int(rest[1])
            elif kind == "idle":
                idle[rest[0]] = (int(rest[1]), int(rest[2]), int(rest[3]), rest[4])
            elif kind == "slow":
                slow[rest[0]] = (int(rest[1]), float(rest[2]), float(rest[3]), float(rest[4]), float(rest[5]),
                                 int(rest[6]), rest[7])
    return meta, rounds, startrss, idle, slow


def kilo(value):
    return f"{value / 1000:.1f}k"


def median_cpu(samples):
    """Median CPU µs/request over the rounds that have it, or None."""
    values = [r[4] for r in samples if not math.isnan(r[4])]
    return statistics.median(values) if values else None


def throughput_rows(rounds):
    nginx = rounds.get("nginx")
    nginx_rps = statistics.median(r[0] for r in nginx) if nginx else None
    nginx_p99 = statistics.median(r[1] for r in nginx) if nginx else None
    nginx_cpu = median_cpu(nginx) if nginx else None
    rows = []
    for target in ORDER:
        if target not in rounds:
            continue
        samples = rounds[target]
        rps = statistics.median(r[0] for r in samples)
        p99 = statistics.median(r[1] for r in samples)
        errors = sum(r[2] + r[3] for r in samples)
        cpu = median_cpu(samples)
        rows.append([
            LABELS[target],
            " / ".join(kilo(r[0]) for r in samples),
            kilo(rps),
            " / ".join(f"{r[1]:.2f}" for r in samples),
            f"{p99:.2f} ms",
            f"{rps / nginx_rps:.2f}x" if nginx_rps else "n/a",
            f"{p99 / nginx_p99:.2f}x" if nginx_p99 else "n/a",
            str(errors),
            f"{cpu:.2f}" if cpu is not None else "n/a",
            f"{cpu / nginx_cpu:.2f}x" if cpu is not None and nginx_cpu else "n/a",
        ])
    header = ["target", "req/s per round", "median req/s", "p99 per round (ms)", "median p99",
              "req/s vs nginx", "p99 vs nginx", "non-2xx + socket errors", "CPU µs/request",
              "CPU vs nginx"]
    return header, rows


def idle_rows(startrss, idle):
    rows = []
    for target in ORDER:
        if target not in idle:
            continue
        count, before, after, summary = idle[target]
        per_conn = (after - before) * 1024 / count if count else 0
        rows.append([LABELS[target], f"{before / 1024:.1f} MiB", f"{after / 1024:.1f} MiB", str(count),
                     f"{per_conn / 1024:.2f} KiB", summary])
    header = ["target", "RSS before", "RSS with idle conns", "idle conns", "per idle conn", "client"]
    return header, rows


def slow_rows(slow):
    rows = []
    for target in ORDER:
        if target not in slow:
            continue
        count, rps0, p990, rps1, p991, errors, summary = slow[target]
        rows.append([LABELS[target], str(count), kilo(rps0), f"{p990:.2f} ms", kilo(rps1), f"{p991:.2f} ms",
                     f"{rps1 / rps0:.2f}x" if rps0 else "n/a", str(errors), summary])
    header = ["target", "slowloris conns", "req/s without", "p99 without", "req/s with", "p99 with",
              "with / without", "non-2xx + socket errors (with)", "slowloris client"]
    return header, rows


def text_table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("records")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    meta, rounds, startrss, idle, slow = load(args.records)

    tables = [("Throughput", throughput_rows(rounds))]
    if idle:
        tables.append(("Idle keep-alive connections", idle_rows(startrss, idle)))
    if slow:
        tables.append(("Slowloris", slow_rows(slow)))

    for title, (header, rows) in tables:
        print(f"\n{title}\n")
        print(text_table(header, rows))
    if "gateway" in startrss:
        print(f"\ngateway RSS right after start (before any request): {startrss['gateway'] / 1024:.1f} MiB")
    if "gateway-end" in startrss:
        print(f"gateway RSS at the end of the run: {startrss['gateway-end'] / 1024:.1f} MiB")

    md = [f"Run {meta.get('date', '?')} on {meta.get('machine', '?')}.", "",
          "```", meta.get("command", "?"), "```", "",
          meta.get("settings", ""), ""]
    for title, (header, rows) in tables:
        md += [f"{title}:", "", markdown_table(header, rows), ""]
    if "gateway" in startrss:
        line = f"Gateway RSS right after start, before any request: {startrss['gateway'] / 1024:.1f} MiB"
        if "gateway-end" in startrss:
            line += f"; at the end of the run: {startrss['gateway-end'] / 1024:.1f} MiB"
        md += [line + ".", ""]
    markdown = "\n".join(md)
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write(markdown)
        print(f"\nmarkdown written to {args.markdown}")
    else:
        print("\n" + markdown)


if __name__ == "__main__":
    main()
