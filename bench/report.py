#!/usr/bin/env python3
"""Turn the tab-separated records bench/run.sh collects into a text table and a markdown section.

Records (one per line, tab-separated, first field is the kind):
  meta     KEY VALUE  (settings:SCENARIO describes a scenario other than proxy)
  round    TARGET ROUND REQ_PER_S P99_MS NON_2XX SOCKET_ERRORS [CPU_US_PER_REQUEST [SCENARIO [RESUMED
           [CLIENT_CPU_US_PER_REQUEST]]]]
           (SCENARIO proxy when missing; RESUMED "X of N" TLS handshakes resumed, or empty; the client's
           (wrk's or tls_connect's) own CPU time per request)
  startrss TARGET KB
  idle     TARGET N RSS_BEFORE_KB RSS_AFTER_KB CLIENT_SUMMARY
  slow     TARGET N REQ_PER_S_WITHOUT P99_WITHOUT REQ_PER_S_WITH P99_WITH ERRORS_WITH CLIENT_SUMMARY
  redis    TARGET ROUND SCENARIO REQUESTS SCRIPT_CALLS SCRIPT_USEC GATEWAY_CALLS REDIS_CPU_US_PER_REQUEST
           [PERMITS_TAKEN]
           (a round of a target whose limit is in Redis: the requests wrk completed, the script calls Redis
           served and the µs it spent in them, the gateway's own count of calls (-1: not scraped),
           redis-server's CPU time per request, and how far the counters in Redis went down (-1: a window
           ended during the round))
Usage: report.py RECORDS [--markdown FILE]  (markdown goes to FILE, else to stdout after the text table)
"""

import argparse
import math
import statistics
import sys

ORDER = ["backend", "nginx", "nginx-keyauth", "haproxy", "haproxy-keyauth", "gateway", "gateway-keyauth",
         "gateway-jwt", "gateway-limitcount", "gateway-limitredis", "gateway-limitredisbatch", "gateway-tracing", "gateway-plugins", "gateway-plugintiming", "gateway-bare",
         "gateway-epoll", "nginx-tls", "haproxy-tls", "gateway-tls"]
TLS_TARGETS = ["nginx-tls", "haproxy-tls", "gateway-tls"]
LABELS = {
    "backend": "backend direct (ceiling)",
    "nginx": "nginx 1.22 proxy",
    "nginx-keyauth": "nginx 1.22 proxy + key check (map + if)",
    "haproxy": "HAProxy 2.6 proxy",
    "haproxy-keyauth": "HAProxy 2.6 proxy + key check (ACL)",
    "gateway": "gateway (metrics + access log on)",
    "gateway-keyauth": "gateway + key-auth (metrics + access log on)",
    "gateway-jwt": "gateway + jwt-auth HS256 (metrics + access log on)",
    "gateway-limitcount": "gateway + limit-count (metrics + access log on)",
    "gateway-limitredis": "gateway + limit-count, policy redis (metrics + access log on)",
    "gateway-limitredisbatch": "gateway + limit-count, policy redis with batch (metrics + access log on)",
    "gateway-tracing": "gateway + tracing, sampling_ratio 0.01, OTLP export (metrics + access log on)",
    "gateway-plugins": "gateway + key-auth, limit-count, response-rewrite (plugin timing off)",
    "gateway-plugintiming": "gateway + key-auth, limit-count, response-rewrite (plugin timing on)",
    "gateway-bare": "gateway (metrics + access log off)",
    "gateway-epoll": "gateway, epoll engine (metrics + access log on)",
    "nginx-tls": "nginx 1.22 proxy, TLS",
    "haproxy-tls": "HAProxy 2.6 proxy, TLS",
    "gateway-tls": "gateway, TLS (metrics + access log on)",
}

# The scenarios in the order run.sh runs them, the title of each one's throughput table, the (plain,
# with check or plugin, label) pairs whose ratio is the cost of the check, and what that is called.
SCENARIOS = ["proxy", "key-auth", "jwt-auth", "limit-count", "limit-redis", "tracing", "plugin-timing", "stress", "https", "https-close",
             "https-full", "https-resumed"]
TITLES = {
    "proxy": "Throughput",
    "key-auth": "key-auth: throughput, every request carrying the API key",
    "jwt-auth": "jwt-auth: throughput, every request carrying an HS256 token",
    "limit-count": "limit-count: throughput",
    "limit-redis": "limit-redis: throughput, limit-count with policy local, redis and redis with batch",
    "tracing": "tracing: throughput, traces started and propagated on every request, 1% sampled and exported",
    "plugin-timing": "plugin-timing: throughput, three plugins on the route, every request carrying the API key",
    "stress": "stress: throughput with many connections",
    "https": "https: keep-alive throughput over TLS",
    "https-close": "https-close: a new connection per request (wrk, sessions resumed)",
    "https-full": "https-full: a new connection per request, full handshakes (tls_connect)",
    "https-resumed": "https-resumed: a new connection per request, sessions resumed (tls_connect)",
}
# The target each scenario's "vs nginx" columns compare with (nginx when not named).
REFERENCES = {scenario: "nginx-tls" for scenario in ["https", "https-close", "https-full", "https-resumed"]}
# Scenarios whose tables show the client's own CPU per request (where the client may be the limit).
CLIENT_CPU = set(REFERENCES)
# The goals for the gateway against its reference: (target, minimum req/s ratio, maximum p99 ratio).
GOALS = {
    "https": ("gateway-tls", 1.0, 1.0),
    "https-close": ("gateway-tls", 1.0, None),
    "https-full": ("gateway-tls", 1.0, None),
    "https-resumed": ("gateway-tls", 1.0, None),
}
PAIRS = {
    "key-auth": [("nginx", "nginx-keyauth", "nginx: map + if"), ("haproxy", "haproxy-keyauth", "HAProxy: ACL"),
                 ("gateway", "gateway-keyauth", "gateway: key-auth plugin")],
    "jwt-auth": [("gateway", "gateway-jwt", "gateway: jwt-auth plugin (HS256)")],
    "limit-count": [("gateway", "gateway-limitcount", "gateway: limit-count plugin")],
    "tracing": [("gateway", "gateway-tracing", "gateway: tracing at sampling_ratio 0.01")],
    "plugin-timing": [("gateway-plugins", "gateway-plugintiming", "gateway: metrics.plugin_timing")],
}
NOUNS = {"key-auth": "check", "jwt-auth": "plugin", "limit-count": "plugin", "tracing": "tracing",
         "plugin-timing": "timing"}
# What the cost table calls the two sides when not "plain" and "with NOUN".
SIDES = {"plugin-timing": ("timing off", "timing on"), "tracing": ("tracing off", "tracing on")}
# limit-redis: the local policy, the reference of the redis variants, and the redis variants (policy names).
REDIS_REFERENCE = "gateway-limitcount"
REDIS_VARIANTS = {"gateway-limitcount": "local", "gateway-limitredis": "redis",
                  "gateway-limitredisbatch": "redis, batch"}
# The target for the gateway's key-auth: req/s with the plugin / req/s plain.
TARGET_RATIOS = {"key-auth": ("gateway", "gateway-keyauth", 0.95), "tracing": ("gateway", "gateway-tracing", 0.97)}
# Budgets for the extra CPU per request (with / plain - 1): the gateway's observability budget.
CPU_BUDGETS = {"plugin-timing": ("gateway-plugins", "gateway-plugintiming", 0.03, "plugin timing on / off",
                                 "the gateway's observability budget")}


def load(path):
    """rounds is {scenario: {target: [(req/s, p99, non-2xx, socket errors, CPU µs/request, resumed,
    client CPU µs/request)]}}."""
    meta, rounds, startrss, idle, slow, redis = {}, {}, {}, {}, {}, {}
    with open(path) as file:
        for line in file:
            fields = line.rstrip("\n").split("\t")
            kind, rest = fields[0], fields[1:]
            if kind == "meta":
                meta[rest[0]] = rest[1]
            elif kind == "round":
                # CPU µs/request is missing from records written before it was measured.
                cpu = float(rest[6]) if len(rest) > 6 else math.nan
                scenario = rest[7] if len(rest) > 7 else "proxy"
                resumed = rest[8] if len(rest) > 8 else ""
                client_cpu = float(rest[9]) if len(rest) > 9 else math.nan
                rounds.setdefault(scenario, {}).setdefault(rest[0], []).append(
                    (float(rest[2]), float(rest[3]), int(rest[4]), int(rest[5]), cpu, resumed, client_cpu))
            elif kind == "redis":
                redis.setdefault(rest[2], {}).setdefault(rest[0], []).append(
                    (int(rest[3]), int(rest[4]), int(rest[5]), int(rest[6]), float(rest[7]),
                     int(rest[8]) if len(rest) > 8 else -1))
            elif kind == "startrss":
                startrss[rest[0]] = int(rest[1])
            elif kind == "idle":
                idle[rest[0]] = (int(rest[1]), int(rest[2]), int(rest[3]), rest[4])
            elif kind == "slow":
                slow[rest[0]] = (int(rest[1]), float(rest[2]), float(rest[3]), float(rest[4]), float(rest[5]),
                                 int(rest[6]), rest[7])
    return meta, rounds, startrss, idle, slow, redis


def kilo(value):
    return f"{value / 1000:.1f}k"


def median_cpu(samples):
    """Median CPU µs/request over the rounds that have it, or None."""
    values = [r[4] for r in samples if not math.isnan(r[4])]
    return statistics.median(values) if values else None


def throughput_rows(rounds, compare=True, reference="nginx", client_cpu=False):
    """One row per target; compare=False leaves out the columns relative to nginx (or to reference);
    client_cpu adds the client's CPU µs/request (median over rounds)."""
    nginx = rounds.get(reference)
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
    # TLS handshakes resumed, where some round counted them: the share over all rounds.
    if any(r[5] for target in rounds for r in rounds[target]):
        header.append("handshakes resumed")
        for row, target in zip(rows, [t for t in ORDER if t in rounds]):
            counts = [tuple(int(x) for x in r[5].split(" of ")) for r in rounds[target] if r[5]]
            total = sum(n for _, n in counts)
            row.append(f"{sum(x for x, _ in counts) / total * 100:.0f} %" if total else "n/a")
    if client_cpu:
        header.append("client CPU µs/request")
        for row, target in zip(rows, [t for t in ORDER if t in rounds]):
            values = [r[6] for r in rounds[target] if not math.isnan(r[6])]
            row.append(f"{statistics.median(values):.2f}" if values else "n/a")
    if not compare:
        keep = [i for i, name in enumerate(header) if "vs nginx" not in name]
        header = [header[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    return header, rows


def medians(samples):
    """Median req/s, p99 and CPU µs/request (None when not measured) over the rounds."""
    return (statistics.median(r[0] for r in samples), statistics.median(r[1] for r in samples),
            median_cpu(samples))


def ratio(numerator, denominator):
    return f"{numerator / denominator:.2f}x" if numerator is not None and denominator else "n/a"


def pair_rows(rounds, pairs, noun="check", sides=None):
    """The cost of each check (or plugin): its target's medians against its plain counterpart's, same run.
    sides names the two columns' sides instead of "plain" and "with NOUN"."""
    off, on = sides or ("plain", f"with {noun}")
    rows = []
    for plain, checked, label in pairs:
        if plain not in rounds or checked not in rounds:
            continue
        rps0, p990, cpu0 = medians(rounds[plain])
        rps1, p991, cpu1 = medians(rounds[checked])
        errors = sum(r[2] + r[3] for r in rounds[checked])
        rows.append([
            label, kilo(rps0), kilo(rps1), ratio(rps1, rps0), f"{p990:.2f} ms", f"{p991:.2f} ms", ratio(p991, p990),
            f"{cpu0:.2f}" if cpu0 is not None else "n/a", f"{cpu1:.2f}" if cpu1 is not None else "n/a",
            ratio(cpu1, cpu0), str(errors),
        ])
    if sides is None:
        header = [noun, "plain req/s", f"with {noun} req/s", "req/s with / plain", "plain p99", f"with {noun} p99",
                  "p99 with / plain", "plain CPU µs/request", f"with {noun} CPU µs/request", "CPU with / plain",
                  f"non-2xx + socket errors (with {noun})"]
    else:
        header = [noun, f"{off} req/s", f"{on} req/s", "req/s on / off", f"{off} p99", f"{on} p99",
                  "p99 on / off", f"{off} CPU µs/request", f"{on} CPU µs/request", "CPU on / off",
                  f"non-2xx + socket errors ({on})"]
    return header, rows


def target_line(scenario, rounds):
    """Whether the gateway met the issue's ratio target in this scenario, or None."""
    if scenario not in TARGET_RATIOS:
        return None
    plain, checked, target = TARGET_RATIOS[scenario]
    if plain not in rounds or checked not in rounds:
        return None
    value = medians(rounds[checked])[0] / medians(rounds[plain])[0]
    verdict = "met" if value >= target else "NOT met"
    return f"{LABELS[checked]} / {LABELS[plain]}: {value:.2f}x of the requests/s (target ≥ {target:.2f}x: {verdict})"


def goal_line(scenario, rounds):
    """Whether the gateway met the issue's goals against the scenario's reference, or None."""
    if scenario not in GOALS:
        return None
    target, min_rps, max_p99 = GOALS[scenario]
    reference = REFERENCES.get(scenario, "nginx")
    if target not in rounds or reference not in rounds:
        return None
    rps, p99, _ = medians(rounds[target])
    rps0, p990, _ = medians(rounds[reference])
    parts = [f"{rps / rps0:.2f}x the requests/s (goal ≥ {min_rps:.2f}x: {'met' if rps / rps0 >= min_rps else 'NOT met'})"]
    if max_p99 is not None:
        verdict = "met" if p99 / p990 <= max_p99 else "NOT met"
        parts.append(f"p99 {p99 / p990:.2f}x (goal ≤ {max_p99:.2f}x: {verdict})")
    return f"{LABELS[target]} / {LABELS[reference]}: " + ", ".join(parts)


def budget_line(scenario, rounds):
    """The extra CPU per request of the second target over the first, against its budget, or None."""
    if scenario not in CPU_BUDGETS:
        return None
    plain, checked, budget, name, what = CPU_BUDGETS[scenario]
    if plain not in rounds or checked not in rounds:
        return None
    rps0, _, cpu0 = medians(rounds[plain])
    rps1, _, cpu1 = medians(rounds[checked])
    if cpu0 is None or cpu1 is None or not cpu0:
        return None
    extra = cpu1 / cpu0 - 1
    verdict = "within" if extra <= budget else "OVER"
    return (f"{name}: {extra * 100:+.1f}% CPU per request ({cpu1 - cpu0:+.3f} µs of {cpu0:.2f} µs), "
            f"{(rps1 / rps0 - 1) * 100:+.1f}% req/s; budget {budget * 100:.0f}% of CPU per request ({what}): "
            f"{verdict} (medians over rounds; reported, not a gate)")


def redis_rows(rounds, redis, batch):
    """limit-redis: each policy's medians against the local policy's (same rounds), Redis calls per request
    (over all rounds: Redis's count of script calls, and the gateway's own) and Redis's CPU per request."""
    local = rounds.get(REDIS_REFERENCE)
    rps0, p990, cpu0 = medians(local) if local else (None, None, None)
    rows = []
    for target, policy in REDIS_VARIANTS.items():
        if target not in rounds:
            continue
        rps, p99, cpu = medians(rounds[target])
        errors = sum(r[2] + r[3] for r in rounds[target])
        seen = redis.get(target, [])
        requests = sum(r[0] for r in seen)
        calls = sum(r[1] for r in seen)
        usec = sum(r[2] for r in seen)
        gateway = [r for r in seen if r[3] >= 0]
        redis_cpu = statistics.median(r[4] for r in seen) if seen else None
        counted = [r for r in seen if r[5] >= 0]
        counted_requests = sum(r[0] for r in counted)
        permits_cell = (f"{sum(r[5] for r in counted) / counted_requests:.2f} ({len(counted)} of {len(seen)} rounds)"
                        if counted_requests else "n/a")
        if policy == "local":
            permits_cell = "-"
            calls_cell = gateway_cell = "0 (no Redis)"
            per_call = "-"
            redis_cpu_cell, total_ratio = "-", ratio(cpu, cpu0)
        else:
            calls_cell = f"{calls / requests:.4f}" if requests else "n/a"
            gateway_requests = sum(r[0] for r in gateway)
            gateway_cell = f"{sum(r[3] for r in gateway) / gateway_requests:.4f}" if gateway_requests else "n/a"
            per_call = f"{usec / calls:.2f}" if calls else "n/a"
            redis_cpu_cell = f"{redis_cpu:.2f}" if redis_cpu is not None else "n/a"
            total_ratio = ratio(cpu + redis_cpu, cpu0) if cpu is not None and redis_cpu is not None else "n/a"
        name = f"{policy} {batch}" if policy == "redis, batch" and batch else policy
        rows.append([
            name, kilo(rps), ratio(rps, rps0), f"{p99:.2f} ms", ratio(p99, p990),
            f"{cpu:.2f}" if cpu is not None else "n/a", ratio(cpu, cpu0), redis_cpu_cell, total_ratio,
            calls_cell, gateway_cell, permits_cell, per_call, str(errors),
        ])
    header = ["policy", "median req/s", "req/s vs local", "median p99", "p99 vs local", "gateway CPU µs/request",
              "gateway CPU vs local", "redis-server CPU µs/request", "gateway + Redis CPU vs local",
              "Redis calls per request", "gateway backend calls per request", "permits taken in Redis per request",
              "Redis µs per script call",
              "non-2xx + socket errors"]
    return header, rows


def idle_rows(startrss, idle, targets):
    rows = []
    for target in targets:
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
    meta, rounds, startrss, idle, slow, redis = load(args.records)

    # (title, table, markdown text before the table, line after it)
    tables = []
    if "proxy" in rounds:
        tables.append(("Throughput", throughput_rows(rounds["proxy"]), None, None))
    for scenario in SCENARIOS[1:]:
        if scenario not in rounds:
            continue
        runs = rounds[scenario]
        intro = meta.get(f"settings:{scenario}")
        title = TITLES[scenario]
        if scenario == "stress" and "stress-connections" in meta:
            title = f"stress: throughput with {meta['stress-connections']} connections"
        reference = REFERENCES.get(scenario, "nginx")
        table = throughput_rows(runs, compare=reference in runs, reference=reference,
                                client_cpu=scenario in CLIENT_CPU)
        tables.append((title, table, intro, goal_line(scenario, runs)))
        if scenario == "limit-redis":
            tables.append(("limit-redis: each policy against the local one (same rounds), and what Redis served",
                           redis_rows(runs, redis.get(scenario, {}), meta.get("redis-batch")), None, None))
        if scenario in PAIRS:
            noun = NOUNS[scenario]
            sides = SIDES.get(scenario)
            compared = f"{sides[1]} / {sides[0]}" if sides else f"with {noun} / plain"
            after = [line for line in (target_line(scenario, runs), budget_line(scenario, runs)) if line]
            tables.append((f"{scenario}: cost of the {noun} ({compared}, same rounds)",
                           pair_rows(runs, PAIRS[scenario], noun, sides), None, "\n".join(after) or None))
    plain_idle = [target for target in ORDER if target in idle and target not in TLS_TARGETS]
    tls_idle = [target for target in TLS_TARGETS if target in idle]
    if plain_idle:
        tables.append(("Idle keep-alive connections", idle_rows(startrss, idle, plain_idle), None, None))
    if tls_idle:
        tables.append(("Idle TLS connections (handshake done, one request answered, then idle)",
                       idle_rows(startrss, idle, tls_idle), None, None))
    if slow:
        tables.append(("Slowloris", slow_rows(slow), None, None))

    for title, (header, rows), _, after in tables:
        print(f"\n{title}\n")
        print(text_table(header, rows))
        if after:
            print(f"\n{after}")
    if "gateway" in startrss:
        print(f"\ngateway RSS right after start (before any request): {startrss['gateway'] / 1024:.1f} MiB")
    if "gateway-end" in startrss:
        print(f"gateway RSS at the end of the run: {startrss['gateway-end'] / 1024:.1f} MiB")

    md = [f"Run {meta.get('date', '?')} on {meta.get('machine', '?')}.", "",
          "```", meta.get("command", "?"), "```", "",
          meta.get("settings", ""), ""]
    for title, (header, rows), intro, after in tables:
        if intro:
            md += [f"{title}. {intro}", "", markdown_table(header, rows), ""]
        else:
            md += [f"{title}:", "", markdown_table(header, rows), ""]
        if after:
            md += [after + ".", ""]
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
