import Foundation
import TestSupport
import Testing

/// Status retries and the balancers (consistent hash, least connections, EWMA) against real upstream nodes.
@Suite("Integration: upstream retries on status and balancers")
struct ResilienceBalancingIntegrationTests {
    /// The upstream port that answered a `/whoami` request.
    static func answeringPort(_ response: RawResponse) throws -> Int {
        guard response.status == 200, let port = try response.jsonObject()["port"] as? Int else {
            throw IntegrationError("no /whoami answer: \(response.status) \(response.bodyString)")
        }
        return port
    }

    @Test("retry_on 503: an idempotent GET is retried on the other node, a POST with a body is not")
    func statusRetry() async throws {
        let keys = """
            timeout: {connect: 0.5, send: 5, read: 5}
            retry_on: [503]
            circuit_breaker: {enabled: false}
            """
        try await withResilientGateway("retry503", nodes: [["--force-status", "503"], []], upstreamKeys: keys) {
            gateway,
            pool in
            var getStatuses: [Int] = []
            for _ in 0..<6 {
                getStatuses.append(try await gateway.get("/whoami").status)
            }
            var postStatuses: [Int] = []
            for _ in 0..<4 {
                postStatuses.append(try await gateway.get("/echo", method: "POST", body: "payload").status)
            }
            #expect(getStatuses == Array(repeating: 200, count: 6), "GET statuses \(getStatuses)")
            #expect(postStatuses.contains(503), "no POST reached the 503 node: \(postStatuses)")
            // No closure literal inside #expect in this function: Swift 6.3.1 gave one the same symbol as a later
            // closure here (`postStatuses.filter { $0 == 503 }`), which then silently ran the #expect's body.
            let known = postStatuses.allSatisfy { $0 == 200 || $0 == 503 }
            #expect(known, "\(postStatuses)")
            let failingNodeRequests = try await pool.counts(0)
            // Lines reach the file a flush interval (0.2 s) after their responses.
            let requests = getStatuses.count + postStatuses.count
            _ = try await gateway.waitUntil(timeout: .seconds(5)) {
                ((try? await gateway.accessLog()) ?? []).count >= requests
            }
            let lines = try await gateway.accessLog()
            let gets = lines.filter { $0["method"] as? String == "GET" }
            let posts = lines.filter { $0["method"] as? String == "POST" }
            let retriedGets = gets.filter { $0["attempts"] as? Int == 2 }.count
            let getsTriedAtMostTwice = gets.allSatisfy { ($0["attempts"] as? Int ?? 1) <= 2 }
            let postsNotRetried = posts.allSatisfy { $0["attempts"] == nil }
            #expect(gets.count == 6 && posts.count == 4, "access log: \(lines)")
            #expect(retriedGets >= 1, "no GET line with attempts 2: \(gets)")
            #expect(getsTriedAtMostTwice, "\(gets)")
            #expect(postsNotRetried, "a POST was retried: \(posts)")
            // Every request the 503 node saw was either a GET retried elsewhere or a POST answered 503.
            let posts503 = postStatuses.filter { $0 == 503 }.count
            #expect(failingNodeRequests == retriedGets + posts503, "503 node saw \(failingNodeRequests)")
            let metrics = try await gateway.metrics()
            #expect(metrics.sum("gateway_upstream_retries_total", ["upstream": "pool"]) == Double(retriedGets))
        }
    }

    /// Maps each key to the upstream port that answered it, over one keep-alive connection.
    static func route(
        keys: [String],
        via gateway: ResilientGateway,
        header: String = "X-User: "
    ) async throws -> [String: Int] {
        let connection = try RawConnection(port: gateway.port)
        defer { connection.close() }
        var placement: [String: Int] = [:]
        for key in keys {
            try await connection.send("GET /whoami HTTP/1.1\r\nHost: t\r\n\(header)\(key)\r\n\r\n")
            placement[key] = try answeringPort(try await connection.readResponse())
        }
        return placement
    }

    @Test("consistent hash on a header: stable placement, removing one of four nodes remaps about a quarter")
    func consistentHash() async throws {
        let keys = """
            type: chash
            hash_on: header
            key: X-User
            timeout: {connect: 0.5, send: 5, read: 5}
            """
        try await withResilientGateway("chash", nodes: [[], [], [], []], upstreamKeys: keys) { gateway, pool in
            let users = (0..<200).map { "user-\($0)" }
            let first = try await Self.route(keys: users, via: gateway)
            let second = try await Self.route(keys: users.reversed(), via: gateway)
            #expect(first == second, "placement changed between passes")
            let spread = Dictionary(grouping: first.values, by: { $0 }).mapValues(\.count)
            #expect(spread.count == 4 && spread.values.allSatisfy { $0 >= 15 }, "keys per node: \(spread)")

            let smaller = try await ResilientGateway.start(
                nodes: (0..<3).map { pool.address($0) },
                upstreamKeys: keys,
                in: gateway.directory
            )
            let third: [String: Int]
            do {
                third = try await Self.route(keys: users, via: smaller)
            } catch {
                await smaller.gateway.stop()
                throw error
            }
            #expect(await smaller.gateway.stop() == 0)
            let removed = pool.ports[3]
            let moved = users.filter { first[$0] != third[$0] }
            let movedFromSurvivors = moved.filter { first[$0] != removed }
            print(
                "consistentHash: spread \(spread), moved \(moved.count), from surviving nodes \(movedFromSurvivors.count)"
            )
            #expect(Double(moved.count) <= (0.25 + 0.15) * 200, "\(moved.count) of 200 keys moved")
            #expect(movedFromSurvivors.count <= 10, "\(movedFromSurvivors.count) keys left surviving nodes")
            #expect(third.values.allSatisfy { $0 != removed })
        }
    }

    @Test("consistent hash on a cookie: the same cookie value always goes to the same node")
    func consistentHashCookie() async throws {
        let keys = """
            type: chash
            hash_on: cookie
            key: sid
            timeout: {connect: 0.5, send: 5, read: 5}
            """
        try await withResilientGateway("chashcookie", nodes: [[], [], []], upstreamKeys: keys) { gateway, _ in
            let sessions = (0..<60).map { "s\($0)" }
            let first = try await Self.route(keys: sessions, via: gateway, header: "Cookie: theme=dark; sid=")
            let second = try await Self.route(keys: sessions.reversed(), via: gateway, header: "Cookie: sid=")
            #expect(first == second, "placement changed with the cookie's position")
            #expect(Set(first.values).count == 3, "60 sessions on \(Set(first.values).count) of 3 nodes")
        }
    }

    @Test("a POST is retried on a connect failure (nothing was sent)")
    func postRetriedOnConnectFailure() async throws {
        let keys = """
            timeout: {connect: 0.5, send: 5, read: 5}
            circuit_breaker: {enabled: false}
            """
        try await withResilientGateway("postconnect", nodes: [[], []], dead: [0], upstreamKeys: keys) { gateway, _ in
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await gateway.get("/echo", method: "POST", body: "payload").status)
            }
            #expect(statuses == [200, 200, 200, 200], "POST statuses with one dead node: \(statuses)")
            let metrics = try await gateway.metrics()
            #expect(metrics.sum("gateway_upstream_retries_total", ["reason": "connect_failure"]) >= 1)
        }
    }

    @Test("least_conn: with a slow request held on one node, the next requests go to the other")
    func leastConnections() async throws {
        let keys = """
            type: least_conn
            timeout: {connect: 0.5, send: 5, read: 5}
            """
        try await withResilientGateway("leastconn", nodes: [[], []], upstreamKeys: keys) { gateway, pool in
            for _ in 0..<2 {
                let before = try await pool.counts(0) + pool.counts(1)
                let heldDone = LockedValue(false)
                let held = Task {
                    defer { heldDone.withLock { $0 = true } }
                    return try Self.answeringPort(try await gateway.get("/whoami?delay=1.5"))
                }
                // The held request must be on its node before the quick ones are balanced.
                let arrived = try await gateway.waitUntil(timeout: .seconds(5)) {
                    try await pool.counts(0) + pool.counts(1) > before
                }
                try #require(arrived, "the held request never reached a node")
                var quick: [Int] = []
                for _ in 0..<4 {
                    let port = try Self.answeringPort(try await gateway.get("/whoami"))
                    // Only answers that came back while the slow request still held its node prove
                    // anything (on a loaded machine the slow one may finish first).
                    if !heldDone.value { quick.append(port) }
                }
                let busy = try await held.value
                #expect(quick.allSatisfy { $0 != busy }, "quick requests went to the busy node \(busy): \(quick)")
            }
        }
    }

    @Test("ewma: most requests avoid the slow node")
    func ewmaAvoidsSlowNode() async throws {
        let keys = """
            type: ewma
            timeout: {connect: 0.5, send: 5, read: 5}
            """
        try await withResilientGateway("ewma", nodes: [["--delay", "0.15"], []], upstreamKeys: keys) { gateway, pool in
            let connection = try RawConnection(port: gateway.port)
            defer { connection.close() }
            var answered: [Int: Int] = [:]
            for _ in 0..<50 {
                try await connection.send("GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n")
                answered[try Self.answeringPort(try await connection.readResponse()), default: 0] += 1
            }
            let fast = answered[pool.ports[1]] ?? 0
            print("ewma: fast node \(fast) of 50")
            #expect(fast >= 40, "fast node got \(fast) of 50: \(answered)")
        }
    }
}

extension UpstreamPool {
    /// Requests node `index` has served (from its `/count`, asked directly).
    func counts(_ index: Int) async throws -> Int {
        let response = try await RawConnection.request(port: ports[index], "/count", timeout: .seconds(10))
        guard let requests = try response.jsonObject()["requests"] as? Int else {
            throw IntegrationError("bad /count answer")
        }
        return requests
    }
}
