import Foundation
import TestSupport
import Testing

/// Panic mode end to end: with too few available nodes the upstream balances over all of them, so
/// traffic keeps flowing (retries reach the live node) instead of a fast 503 for everyone.
@Suite("Integration: upstream panic threshold")
struct PanicIntegrationTests {
    static func upstreamStatus(_ gateway: ResilientGateway) async throws -> [String: Any] {
        let status = try await gateway.control("/status").jsonObject()
        let upstreams = status["upstreams"] as? [[String: Any]] ?? []
        return upstreams.first { $0["id"] as? String == "pool" } ?? [:]
    }

    @Test(
        "three nodes with two dead and both ejected: panic, traffic keeps flowing, visible in metrics, /status and the log"
    )
    func twoOfThreeDead() async throws {
        try await timingSensitive {
            let keys = """
                timeout: {connect: 0.5, send: 5, read: 5}
                circuit_breaker: {consecutive_failures: 2, base_ejection_time: 30, max_ejection_percent: 100, jitter: 0}
                """
            try await withResilientGateway("panic", nodes: [[], [], []], dead: [0, 1], upstreamKeys: keys) {
                gateway,
                _ in
                let panicked = try await gateway.waitUntil(timeout: .seconds(15)) {
                    _ = try await gateway.get("/whoami")
                    return try await Self.upstreamStatus(gateway)["panic"] as? Bool == true
                }
                let upstream = try await Self.upstreamStatus(gateway)
                #expect(panicked, "no panic: \(upstream)")
                var statuses: [Int: Int] = [:]
                for _ in 0..<30 { statuses[try await gateway.get("/whoami").status, default: 0] += 1 }
                // Picks land on dead nodes too; their connect is refused and the retry goes to the live one.
                #expect(statuses == [200: 30], "\(statuses)")
                let metrics = try await gateway.metrics()
                #expect(metrics.value("gateway_upstream_panic", ["upstream": "pool"]) == 1)
                #expect(metrics.sum("gateway_upstream_panic_requests_total", ["upstream": "pool"]) >= 30)
                let entered = gateway.gateway.log.split(separator: "\n").filter {
                    $0.contains("upstream entered panic")
                }
                #expect(entered.count == 1, "\(gateway.gateway.log)")
                #expect(entered.first?.contains("1 of 3 nodes available (33%), under panic_threshold 50%") == true)
                // /readyz stays ready: the upstream still serves in panic.
                let ready = try await gateway.control("/readyz")
                #expect(ready.status == 200, "\(ready.bodyString)")
            }
        }
    }

    @Test("one node of one: its circuit opens, but panic keeps sending to it instead of a fast 503")
    func singleNodeKeepsServingAfterABlip() async throws {
        try await timingSensitive {
            let keys = """
                timeout: {connect: 0.5, send: 5, read: 0.3}
                retries: 0
                circuit_breaker: {consecutive_failures: 2, base_ejection_time: 30, max_ejection_percent: 100, jitter: 0}
                """
            // The node answers slowly at first (read timeouts open its circuit), then normally.
            try await withResilientGateway("panic1", nodes: [["--delay", "1"]], upstreamKeys: keys) { gateway, pool in
                let opened = try await gateway.waitUntil(timeout: .seconds(15)) {
                    _ = try await gateway.get("/whoami")
                    return try await gateway.nodeStatus().values.first?.circuit == "open"
                }
                #expect(opened)
                await pool.kill(0)
                try await pool.restart(0)
                var statuses: [Int: Int] = [:]
                for _ in 0..<10 { statuses[try await gateway.get("/whoami").status, default: 0] += 1 }
                #expect(statuses == [200: 10], "open circuit of the only node, in panic: \(statuses)")
                let circuit = try await gateway.nodeStatus().values.first?.circuit
                #expect(circuit == "open", "the circuit should still be open")
            }
        }
    }
}
