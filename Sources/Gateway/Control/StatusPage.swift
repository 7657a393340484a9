import Crypto
import Foundation

/// The live status page served at `GET /` on the control listener: one self-contained HTML document.
///
/// Its style and script are inline and everything else is forbidden by its Content-Security-Policy,
/// which allows exactly those two blocks by their SHA-256 hashes (computed once, here, from the very
/// strings sent) and lets the script fetch only from the control listener itself. The script polls
/// `/status/traffic` every second and rebuilds the view with `textContent` (never `innerHTML`), so
/// route and node names from the configuration cannot inject markup. There are no inline event
/// handlers, which such a policy would block.
package enum StatusPage {
    /// The page's stylesheet (the exact text between `<style>` and `</style>`).
    package static let style = """

        :root { color-scheme: dark; --bg: #11151c; --panel: #1a2029; --text: #d8dee9; --dim: #8a94a6;
          --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 1rem 1.5rem; background: var(--bg); color: var(--text);
          font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
        h1 { font-size: 1.2rem; margin: 0 0 .25rem; }
        h2 { font-size: 1rem; margin: 1.25rem 0 .5rem; color: var(--dim); text-transform: uppercase;
          letter-spacing: .05em; }
        #meta, #live { color: var(--dim); }
        #live.ok { color: var(--ok); }
        #live.bad { color: var(--bad); }
        .tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: .75rem; }
        .tile { background: var(--panel); border-radius: 6px; padding: .6rem 1rem; min-width: 10rem; }
        .tile .value { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
        .tile .label { color: var(--dim); font-size: .8rem; }
        .tile.bad .value { color: var(--bad); }
        table { border-collapse: collapse; width: 100%; background: var(--panel); border-radius: 6px; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #262e3a; }
        th { color: var(--dim); font-weight: normal; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.node.up td.state { color: var(--ok); }
        tr.node.warn td { color: var(--warn); }
        tr.node.down td { background: #4a1717; color: #ffc2c2; }
        tr.node.down td.state { color: var(--bad); font-weight: bold; }
        .upstream h3 { font-size: .95rem; margin: .75rem 0 .3rem; }
        .badge { display: inline-block; border-radius: 4px; padding: 0 .4rem; margin-left: .4rem;
          font-size: .75rem; background: #262e3a; }
        .badge.panic { background: var(--bad); color: #fff; }
        .empty { color: var(--dim); font-style: italic; }
        .note { color: var(--dim); margin: 0 0 .4rem; }
        tr.slo.ok td.budget { color: var(--ok); }
        tr.slo.warn td.budget { color: var(--warn); font-weight: bold; }
        tr.slo.bad td { background: #4a1717; color: #ffc2c2; }
        tr.slo.bad td.budget { color: var(--bad); font-weight: bold; }

        """

    /// The page's script (the exact text between `<script>` and `</script>`).
    package static let script = """

        "use strict";
        const byId = (id) => document.getElementById(id);
        function make(tag, className, text) {
          const node = document.createElement(tag);
          if (className) node.className = className;
          if (text !== undefined && text !== null) node.textContent = String(text);
          return node;
        }
        function rate(value) { return value === null || value === undefined ? "–" : value.toFixed(value < 10 ? 2 : 1); }
        function percent(value) { return value === null || value === undefined ? "–" : (value * 100).toFixed(2) + "%"; }
        function seconds(value) {
          if (value === null || value === undefined) return "–";
          return value < 1 ? (value * 1000).toFixed(1) + " ms" : value.toFixed(2) + " s";
        }
        function row(cells, className) {
          const tr = make("tr", className);
          for (const [text, cls] of cells) tr.appendChild(make("td", cls, text));
          return tr;
        }
        function table(headers, rows) {
          const t = make("table");
          const head = make("tr");
          for (const h of headers) head.appendChild(make("th", null, h));
          t.appendChild(head);
          for (const r of rows) t.appendChild(r);
          return t;
        }
        function budgetState(budget) {
          if (budget === null || budget === undefined) return "unknown";
          return budget < 0 ? "bad" : budget < 0.25 ? "warn" : "ok";
        }
        function nodeState(node) {
          if (node.healthy === false || node.circuit === "open" || node.available === false) return "down";
          if (node.circuit === "half_open") return "warn";
          return "up";
        }
        function render(data) {
          const config = data.config || {};
          const running = (data.workers || []).filter((w) => w.running).length;
          byId("meta").textContent = "version " + data.version + " · engine " + data.engine +
            (data.engine_fallback_reason ? " (fallback: " + data.engine_fallback_reason + ")" : "") +
            " · workers " + running + "/" + (data.workers || []).length +
            " · config generation " + config.generation + " · last reload " + config.loaded_at +
            (config.reloads ? " (" + config.reloads.success + " ok, " + config.reloads.failure + " failed)" : "") +
            (config.last_reload_error ? " · last reload error: " + config.last_reload_error : "") +
            (data.draining ? " · DRAINING" : "");
          const traffic = data.traffic || {};
          byId("rps").textContent = rate(traffic.requests_per_second);
          byId("error-ratio").textContent = percent(traffic.error_ratio);
          byId("error-tile").className = "tile" + (traffic.error_ratio > 0 ? " bad" : "");
          byId("connections").textContent = traffic.connections_active === undefined ? "–" : traffic.connections_active;
          byId("interval").textContent = "over the last " + (traffic.interval_seconds || 0).toFixed(1) + " s";

          const routes = (traffic.routes || []).map((r) => {
            const tr = row([[r.route], [rate(r.requests_per_second), "num"], [percent(r.error_ratio), "num"],
              [seconds(r.p50_seconds), "num"], [seconds(r.p99_seconds), "num"], [r.requests_total, "num"]], "route");
            tr.dataset.route = r.route;
            return tr;
          });
          byId("routes").replaceChildren(routes.length ? table(["route", "req/s", "5xx", "p50", "p99", "total"], routes)
            : make("p", "empty", "no routes"));

          const upstreams = (data.upstreams || []).map((u) => {
            const box = make("div", "upstream");
            const title = make("h3", null, u.id);
            if (u.panic) title.appendChild(make("span", "badge panic", "PANIC"));
            title.appendChild(make("span", "badge", u.source));
            box.appendChild(title);
            const nodes = (u.nodes || []).map((n) => {
              const state = nodeState(n);
              const tr = row([[n.node], [state, "state"], [n.healthy === undefined ? "–" : (n.healthy ? "healthy" : "unhealthy")],
                [n.circuit || "–"], [n.since || "–"], [n.last_transition_reason || "–"], [n.weight, "num"]], "node " + state);
              tr.dataset.node = n.node;
              tr.dataset.upstream = u.id;
              return tr;
            });
            box.appendChild(table(["node", "state", "health", "circuit", "last transition", "reason", "weight"], nodes));
            return box;
          });
          byId("upstreams").replaceChildren(...(upstreams.length ? upstreams : [make("p", "empty", "no upstreams")]));

          // SLO budget remaining per objective since start (data.slo): red once spent, amber below 25%.
          const slos = (data.slo || []).map((s) => {
            const subject = s.route !== undefined ? s.route : s.upstream;
            const what = s.slo + (s.threshold_seconds !== undefined ? " ≤ " + seconds(s.threshold_seconds) : "");
            const burn = s.burn_rate === null || s.burn_rate === undefined ? "–" : s.burn_rate.toFixed(2) + "×";
            const tr = row([[(s.route !== undefined ? "route " : "upstream ") + subject], [what], [s.objective + "%", "num"],
              [s.window], [percent(s.error_ratio), "num"], [burn, "num"], [percent(s.budget_remaining), "num budget"],
              [s.note || ""]], "slo " + budgetState(s.budget_remaining));
            tr.dataset.subject = subject;
            tr.dataset.slo = s.slo;
            return tr;
          });
          const since = (data.slo || []).length ? data.slo[0].since : null;
          byId("slo").replaceChildren(...(slos.length ? [make("p", "note", "counted since the gateway started (" + since +
            "); burn rate over the last " + (traffic.interval_seconds || 0).toFixed(1) + " s"),
            table(["objective of", "slo", "target", "window", "errors", "burn rate", "budget left", "note"], slos)]
            : [make("p", "empty", "no SLO objectives configured")]));

          byId("workers").replaceChildren(table(["worker", "running", "connections"], (data.workers || []).map((w) =>
            row([[w.id], [w.running ? "yes" : "NO"], [w.connections, "num"]], "worker " + (w.running ? "up" : "down")))));
        }
        async function tick() {
          const live = byId("live");
          try {
            const response = await fetch("/status/traffic", { cache: "no-store" });
            if (!response.ok) throw new Error("HTTP " + response.status);
            render(await response.json());
            live.textContent = "live · " + new Date().toLocaleTimeString();
            live.className = "ok";
          } catch (error) {
            live.textContent = "gateway unreachable: " + error.message;
            live.className = "bad";
          }
        }
        tick();
        setInterval(tick, 1000);

        """

    /// The whole document.
    package static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Gateway status</title>
        <link rel="icon" href="data:,">
        <style>\(style)</style>
        </head>
        <body>
        <h1>Gateway status</h1>
        <div id="meta">loading…</div>
        <div id="live">connecting…</div>
        <div class="tiles">
        <div class="tile"><div class="value" id="rps">–</div><div class="label">requests/s</div></div>
        <div class="tile" id="error-tile"><div class="value" id="error-ratio">–</div><div class="label">errors (5xx)</div></div>
        <div class="tile"><div class="value" id="connections">–</div><div class="label">active connections</div></div>
        <div class="tile"><div class="value" id="interval">–</div><div class="label">rates</div></div>
        </div>
        <h2>Routes</h2>
        <div id="routes"></div>
        <h2>Upstream nodes</h2>
        <div id="upstreams"></div>
        <h2>SLO budget remaining</h2>
        <div id="slo"></div>
        <h2>Workers</h2>
        <div id="workers"></div>
        <script>\(script)</script>
        </body>
        </html>

        """

    /// `'sha256-…'` of `text` as CSP wants it.
    private static func hashSource(_ text: String) -> String {
        "'sha256-" + Data(SHA256.hash(data: Array(text.utf8))).base64EncodedString() + "'"
    }

    /// Allows the inline style and script by hash, fetches from the control listener only, nothing else.
    package static let contentSecurityPolicy =
        "default-src 'none'; script-src \(hashSource(script)); style-src \(hashSource(style)); "
        + "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The response to `GET /`.
    package static var response: ControlResponse {
        ControlResponse(
            status: 200,
            contentType: "text/html; charset=utf-8",
            headers: [
                (name: "Content-Security-Policy", value: contentSecurityPolicy),
                (name: "Cache-Control", value: "no-store"),
                (name: "X-Content-Type-Options", value: "nosniff"),
                (name: "Referrer-Policy", value: "no-referrer"),
            ],
            body: Array(html.utf8)
        )
    }
}
