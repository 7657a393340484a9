import Foundation
import TestSupport
import Testing

/// Rate limits through a running two-worker gateway: one limit for the whole gateway, its headers, a
/// consumer's own limit replacing the route's, and a global rule's plugins running before the route's.
@Suite("Integration: limit plugins")
struct LimitPluginIntegrationTests {
    static func yaml(upstreamPort: Int, controlPort: Int) -> String {
        IntegrationEnvironment.withTestEngine(
            """
            workers: 2
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstreamPort)": 1}, keepalive_pool: {size: 64}}]
            consumers:
              - username: gold
                plugins:
                  key-auth: {key: gold-key}
                  limit-count: {count: 5, time_window: 3600, key_type: constant, key: gold}
              - username: basic
                plugins:
                  key-auth: {key: basic-key}
            global_rules:
              - id: marks
                plugins:
                  response-rewrite: {headers: {set: {X-Global: "1"}}}
            routes:
              - id: counted
                uri: /counted/*
                upstream_id: backend
                plugins:
                  limit-count: {count: 100, time_window: 3600, key: remote_addr, rejected_msg: "slow down"}
              - id: paced
                uri: /paced/*
                upstream_id: backend
                plugins:
                  limit-req: {rate: 4, burst: 10, key: remote_addr}
              - id: strict
                uri: /strict/*
                upstream_id: backend
                plugins:
                  limit-req: {rate: 0.1, burst: 0, key: remote_addr, rejected_code: 503}
              - id: members
                uri: /members/*
                upstream_id: backend
                plugins:
                  key-auth: {}
                  limit-count: {count: 2, time_window: 3600, key_type: constant, key: members}

            """
        )
    }

    @Test("limit-count with two workers: h2load sends ten times the limit and the gateway admits the limit")
    func limitCountIsOneLimitForTheGateway() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("limit-count")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory, arguments: ["--nodelay"])
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            Self.yaml(upstreamPort: upstream.port, controlPort: controlPort)
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            let first = try await Curl.run("\(gateway.url)/counted/whoami", in: directory)
            #expect(first.status == 200)
            #expect(first.header("X-RateLimit-Limit") == "100")
            #expect(first.header("X-RateLimit-Remaining") == "99")
            let reset = Int(first.header("X-RateLimit-Reset") ?? "") ?? -1
            #expect(reset > 0 && reset <= 3600, "X-RateLimit-Reset \(reset)")
            #expect(first.header("X-Global") == "1", "the global rule's plugin runs for the route too")

            // 999 more over 20 connections spread across both workers: 99 more are admitted.
            let load = try await Command.run(
                "h2load",
                ["--h1", "-n", "999", "-c", "20", "-t", "2", "\(gateway.url)/counted/whoami"],
                in: directory,
                timeout: .seconds(120)
            )
            #expect(load.exitCode == 0, "\(load.log)")
            let admitted = Self.statusCount(load.stdout, "2xx")
            let refused = Self.statusCount(load.stdout, "4xx")
            #expect((99...101).contains(admitted ?? -1), "admitted \(admitted ?? -1) of 999:\n\(load.stdout)")
            #expect(admitted.map { $0 + (refused ?? 0) } == 999, "\(load.stdout)")

            let over = try await Curl.run("\(gateway.url)/counted/whoami", in: directory)
            #expect(over.status == 429)
            #expect(try over.jsonObject()["message"] as? String == "slow down")
            #expect(over.header("X-RateLimit-Remaining") == "0")

            let counted = try await eventually(timeout: .seconds(10)) {
                let value = try await gateway.scrape().exposition.value(
                    "gateway_plugin_rejections_total",
                    ["route": "counted", "plugin": "limit-count", "code": "429"]
                )
                return value == Double(999 - (admitted ?? 0) + 1)
            }
            #expect(counted, "rejections are not counted")
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }

    @Test("a consumer's limit-count replaces the route's for that consumer only")
    func consumerPluginsMergeOverTheRoutes() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("limit-consumer")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            Self.yaml(upstreamPort: upstream.port, controlPort: controlPort)
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            func call(_ key: String) async throws -> CurlResult {
                try await Curl.run("\(gateway.url)/members/whoami", ["-H", "apikey: \(key)"], in: directory)
            }
            // The route allows 2 for everyone on it; gold's own limit is 5.
            var basic: [Int] = []
            for _ in 0..<4 { basic.append(try await call("basic-key").status) }
            #expect(basic == [200, 200, 429, 429])
            var gold: [Int] = []
            for _ in 0..<7 { gold.append(try await call("gold-key").status) }
            #expect(gold == [200, 200, 200, 200, 200, 429, 429])
            #expect(try await call("gold-key").header("X-RateLimit-Limit") == "5")
            #expect(try await call("basic-key").header("X-RateLimit-Limit") == "2")
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }

    @Test("limit-req delays requests above the rate on the worker's timer and refuses those beyond the burst")
    func limitReqDelaysThenRefuses() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("limit-req")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let gateway = try await GatewayProcess.start(in: directory) { controlPort in
            Self.yaml(upstreamPort: upstream.port, controlPort: controlPort)
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            // Five at once at 4/s: the first goes now, the others wait 0.25 s apart, so the last one
            // answers no sooner than a second after the start (a lower bound holds on a loaded machine).
            let clock = ContinuousClock()
            let start = clock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 {
                    group.addTask { try await Curl.run("\(gateway.url)/paced/whoami", in: directory).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [200, 200, 200, 200, 200])
            #expect(clock.now - start >= .milliseconds(900), "no request waited")

            // rate 0.1, burst 0: a second request within ten seconds is refused with the configured code.
            // Both go from one curl process, so a slow process start on a loaded machine cannot space them
            // ten seconds apart.
            let strict = try await CurlBatch.run(
                ["\(gateway.url)/strict/whoami?n=1", "\(gateway.url)/strict/whoami?n=2"],
                in: directory
            ).map(\.status)
            #expect(strict == [200, 503])
        } tearDown: {
            let clean = await gateway.finish()
            await upstream.stop()
            return clean
        }
    }

    /// The count h2load reports for a status class ("status codes: 100 2xx, 0 3xx, 899 4xx, 0 5xx").
    static func statusCount(_ output: String, _ kind: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("status codes:") }) else {
            return nil
        }
        let parts = line.replacingOccurrences(of: ",", with: "").split(separator: " ")
        guard let index = parts.firstIndex(of: Substring(kind)), index > 0 else { return nil }
        return Int(parts[index - 1])
    }
}
