import Foundation
import TestSupport
import Testing

/// `limit-count` and `limit-req` with `policy: redis` across three gateway processes sharing one real
/// redis-server: one limit for the fleet, leases with `redis.batch`, and `redis.on_error` while Redis is
/// down, then the limit enforced again once it is back.
@Suite("Integration: rate limits in Redis")
struct RedisLimitIntegrationTests {
    static func yaml(upstreamPort: Int, controlPort: Int, redisPort: Int) -> String {
        IntegrationEnvironment.withTestEngine(
            """
            workers: 2
            listen: ["127.0.0.1:0"]
            control: {listen: "127.0.0.1:\(controlPort)"}
            upstreams: [{id: backend, nodes: {"127.0.0.1:\(upstreamPort)": 1}, keepalive_pool: {size: 16}}]
            routes:
              - id: exact
                uri: /exact/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 40, time_window: 3600, key_type: constant, key: fleet, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 2}}
              - id: batched
                uri: /batched/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 40, time_window: 3600, key_type: constant, key: fleet, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 2, batch: 5}}
              - id: bulk
                uri: /bulk/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 2000, time_window: 3600, key_type: constant, key: bulk, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 2, batch: 100}}
              - id: apisix-keys
                uri: /apisix/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 3, time_window: 3600, key: remote_addr, policy: redis, redis_host: 127.0.0.1,
                     redis_port: \(redisPort), redis_timeout: 2000}
              - id: paced
                uri: /paced/*
                upstream_id: backend
                plugins:
                  limit-req:
                    {rate: 0.05, burst: 1, key: remote_addr, nodelay: true, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 2}}
              - id: tight
                uri: /tight/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 2, time_window: 3600, key_type: constant, key: tight, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 0.5, on_error: allow}}
              - id: denied
                uri: /denied/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 1000, time_window: 3600, key_type: constant, key: denied, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 0.5, on_error: deny}}
              - id: fallback
                uri: /fallback/*
                upstream_id: backend
                plugins:
                  limit-count:
                    {count: 3, time_window: 3600, key_type: constant, key: fallback, policy: redis,
                     redis: {host: 127.0.0.1, port: \(redisPort), timeout: 0.5}}

            """
        )
    }

    /// Three gateways on one Redis, an upstream, and a temporary directory, torn down after `body`.
    static func withFleet(
        _ label: String,
        _ body: (_ gateways: [GatewayProcess], _ redis: RedisServer, _ directory: URL) async throws -> Void
    ) async throws {
        // Three gateways, Redis and h2load: these take turns with the other heavy tests.
        try await timingSensitive { try await withFleetNow(label, body) }
    }

    private static func withFleetNow(
        _ label: String,
        _ body: (_ gateways: [GatewayProcess], _ redis: RedisServer, _ directory: URL) async throws -> Void
    ) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: directory) }
        let redis = try await RedisServer(in: directory)
        let upstream = try await UpstreamProcess.start(in: directory, arguments: ["--nodelay"])
        var gateways: [GatewayProcess] = []
        do {
            for index in 0..<3 {
                let instance = directory.appendingPathComponent("gateway-\(index)")
                try FileManager.default.createDirectory(at: instance, withIntermediateDirectories: true)
                gateways.append(
                    try await GatewayProcess.start(in: instance) { controlPort in
                        Self.yaml(upstreamPort: upstream.port, controlPort: controlPort, redisPort: redis.port)
                    }
                )
            }
        } catch {
            for gateway in gateways { _ = await gateway.finish() }
            await upstream.stop()
            await redis.stop()
            throw error
        }
        try await IntegrationEnvironment.withTearDown(of: directory) {
            try await body(gateways, redis, directory)
        } tearDown: {
            var clean = true
            for gateway in gateways where !(await gateway.finish()) { clean = false }
            await upstream.stop()
            await redis.stop()
            return clean
        }
    }

    /// Statuses of `count` requests to `path`, spread round-robin over `gateways`, each gateway's share on
    /// one curl (keep-alive, so both workers of each see traffic over the run).
    static func statuses(
        _ gateways: [GatewayProcess],
        _ path: String,
        count: Int,
        in directory: URL
    ) async throws
        -> [Int]
    {
        var statuses: [Int] = []
        for (index, gateway) in gateways.enumerated() {
            let share = count / gateways.count + (index < count % gateways.count ? 1 : 0)
            let urls = (0..<share).map { "\(gateway.url)\(path)?n=\($0)" }
            statuses += try await CurlBatch.run(urls, in: directory).map(\.status)
        }
        return statuses
    }

    @Test("a limit of 40 holds across three gateways: exactly 40 without batch, at most 40 with batch 5")
    func clusterLimitHolds() async throws {
        try await Self.withFleet("redis-fleet") { gateways, redis, directory in
            let exact = try await Self.statuses(gateways, "/exact/whoami", count: 120, in: directory)
            #expect(exact.filter { $0 == 200 }.count == 40, "statuses: \(exact)")
            #expect(exact.filter { $0 == 429 }.count == 80, "statuses: \(exact)")

            let batched = try await Self.statuses(gateways, "/batched/whoami", count: 120, in: directory)
            let admitted = batched.filter { $0 == 200 }.count
            // Leases never over-admit here (a lease ends with the window); permits a worker leased and did not
            // spend are lost to the others: at most instances × workers × (batch - 1).
            #expect(admitted <= 40 && admitted >= 40 - 3 * 2 * 4, "admitted \(admitted): \(batched)")
            #expect(batched.allSatisfy { $0 == 200 || $0 == 429 }, "statuses: \(batched)")

            var calls = 0.0
            for gateway in gateways {
                let exposition = try await gateway.scrape().exposition
                calls += exposition.sum("gateway_rate_limit_backend_calls_total", ["plugin": "limit-count"])
                #expect(exposition.sum("gateway_rate_limit_backend_errors_total") == 0)
            }
            // /exact: one call per admitted request, plus one per worker that then learns the window is used up
            // (its later requests are rejected without a call). /batched: one call per lease of 5, plus the same.
            #expect(calls >= 48 && calls <= 66, "calls \(calls)")
            // The counter lives in Redis, where every gateway finds it.
            let keys = try await redis.command("KEYS", "gw:lc:*").elements ?? []
            #expect(keys.count >= 2, "keys in Redis: \(keys)")

            // APISIX's flat redis_* keys work the same, with the quota headers.
            let first = try await Curl.run("\(gateways[0].url)/apisix/whoami", in: directory)
            #expect(first.status == 200)
            #expect(first.header("X-RateLimit-Limit") == "3")
            #expect(first.header("X-RateLimit-Remaining") == "2")
            let second = try await Curl.run("\(gateways[1].url)/apisix/whoami", in: directory)
            #expect(second.header("X-RateLimit-Remaining") == "1", "the second gateway sees the first's request")
        }
    }

    @Test("batch 100 under 32 concurrent connections: one lease call per key and worker at a time, no permit lost")
    func concurrentLeases() async throws {
        try await Self.withFleet("redis-leases") { gateways, redis, directory in
            // 1,000 requests against a limit of 2,000: every one is admitted only if the permits each lease
            // call takes are spent (requests that find a call on its way wait for it instead of taking a
            // lease of their own, which the next answer would throw away).
            let load = try await Command.run(
                "h2load",
                ["--h1", "-n", "1000", "-c", "32", "-t", "2", "\(gateways[0].url)/bulk/whoami"],
                in: directory,
                timeout: .seconds(120)
            )
            #expect(load.exitCode == 0, "\(load.log)")
            #expect(load.stdout.contains("1000 succeeded"), "\(load.stdout)")
            #expect(load.stdout.contains("status codes: 1000 2xx"), "\(load.stdout)")
            let exposition = try await gateways[0].scrape().exposition
            let calls = exposition.sum("gateway_rate_limit_backend_calls_total", ["plugin": "limit-count"])
            // 1,000 requests at 100 permits a call over 2 workers: 10 calls, a few more at most.
            #expect(calls >= 10 && calls <= 16, "lease calls: \(calls)")
            let left = try await redis.command("KEYS", "gw:lc:*").elements?.compactMap(\.string) ?? []
            #expect(left.count == 1, "keys: \(left)")
            if let key = left.first {
                let reply = try await redis.command("GET", key)
                let value = reply.integer ?? reply.string.flatMap { Int64($0) }
                #expect(value.map { 2000 - $0 } == Int64(calls) * 100, "taken in Redis: \(String(describing: value))")
            }
        }
    }

    @Test("limit-req in Redis: one bucket for the fleet")
    func leakyBucketIsShared() async throws {
        try await Self.withFleet("redis-bucket") { gateways, _, directory in
            // 0.05 a second with a burst of 1: two admitted, whichever gateway they reach.
            let statuses = try await Self.statuses(gateways, "/paced/whoami", count: 9, in: directory)
            #expect(statuses.filter { $0 == 200 }.count == 2, "statuses: \(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 7, "statuses: \(statuses)")
        }
    }

    @Test(
        "Redis killed mid-run: on_error allow, deny and local are honoured, counted, and the limit returns with Redis"
    )
    func redisOutage() async throws {
        try await Self.withFleet("redis-outage") { gateways, redis, directory in
            let gateway = gateways[0]
            #expect(try await Curl.run("\(gateway.url)/denied/whoami", in: directory).status == 200)
            await redis.kill()

            // Traffic goes on: allow lets everything through, deny answers 503, local counts in the gateway
            // (3 a window, across its workers).
            let allowed = try await CurlBatch.run((0..<5).map { "\(gateway.url)/tight/whoami?n=\($0)" }, in: directory)
            #expect(allowed.allSatisfy { $0.status == 200 }, "on_error allow: \(allowed.map(\.status))")
            let denied = try await Curl.run("\(gateway.url)/denied/whoami", in: directory)
            #expect(denied.status == 503, "on_error deny: \(denied.status)")
            #expect(try denied.jsonObject()["message"] as? String == "rate limit backend unavailable")
            let local = try await CurlBatch.run((0..<5).map { "\(gateway.url)/fallback/whoami?n=\($0)" }, in: directory)
            #expect(local.map(\.status) == [200, 200, 200, 429, 429], "on_error local: \(local.map(\.status))")

            let errors = try await gateway.scrape().exposition
            #expect(errors.sum("gateway_rate_limit_backend_errors_total", ["plugin": "limit-count"]) >= 11)

            // Redis comes back empty: the gateway reconnects by itself and /tight's limit of 2 holds again.
            try await redis.restart()
            var seen: [Int] = []
            let enforced = try await eventually(timeout: .seconds(30)) {
                let status = try await Curl.run("\(gateway.url)/tight/whoami", in: directory).status
                seen.append(status)
                return status == 429
            }
            #expect(enforced, "the limit did not return with Redis: \(seen.suffix(20))")
        }
    }
}
