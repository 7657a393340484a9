import Foundation
import Glibc
import TestSupport
import Testing

@testable import Gateway

/// Active probes through each engine's executor against real loopback sockets and upstream.py.
@Suite("Active prober on both executors")
struct ActiveProberTests {
    /// Polls until every started probe completed (or 10 s pass).
    static func results(_ prober: inout ActiveProber, count: Int) -> [Int: ActiveProbeResult] {
        var results: [Int: ActiveProbeResult] = [:]
        let deadline = ContinuousClock.now + .seconds(10)
        while results.count < count && ContinuousClock.now < deadline {
            for completion in prober.poll(until: ContinuousClock.now + .milliseconds(50)) {
                #expect(results[completion.node] == nil, "node \(completion.node) reported twice")
                results[completion.node] = completion.result
            }
        }
        return results
    }

    static func check(
        _ type: ActiveHealthCheck.Kind,
        path: String = "/",
        timeout: Duration = .seconds(2)
    )
        -> ActiveHealthCheck
    {
        var check = ActiveHealthCheck()
        check.type = type
        check.httpPath = path
        check.timeout = timeout
        return check
    }

    @Test(arguments: EngineKind.allCases)
    func outcomes(engine: EngineKind) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("prober-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        // A listener nobody accepts from: the handshake completes, nothing ever answers.
        let silent = try Sockets.listen(on: SocketAddress(host: "127.0.0.1", port: 0)!)
        defer { Glibc.close(silent) }
        let silentAddress = try #require(SocketAddress.local(of: silent))
        // Held bound for the whole test, so no other test's listener can take it and answer.
        let closed = try RefusingPort()
        defer { withExtendedLifetime(closed) {} }
        let closedPort = closed.port
        let live = SocketAddress(host: "127.0.0.1", port: UInt16(upstream.port))!
        let refused = SocketAddress(host: "127.0.0.1", port: UInt16(closedPort))!

        var prober = ActiveProber(engine: engine)
        let now = ContinuousClock.now
        prober.start(node: 0, address: live, check: Self.check(.http, path: "/status/200"), hostHeader: "h", now: now)
        prober.start(node: 1, address: live, check: Self.check(.http, path: "/status/503"), hostHeader: "h", now: now)
        prober.start(node: 2, address: live, check: Self.check(.http, path: "/status/418"), hostHeader: "h", now: now)
        prober.start(node: 3, address: live, check: Self.check(.tcp), hostHeader: "h", now: now)
        prober.start(node: 4, address: refused, check: Self.check(.tcp), hostHeader: "h", now: now)
        prober.start(
            node: 5,
            address: silentAddress,
            check: Self.check(.http, timeout: .milliseconds(300)),
            hostHeader: "h",
            now: now
        )
        let probing = prober.isProbing(node: 5)
        #expect(probing)
        let results = Self.results(&prober, count: 6)
        #expect(results[0] == .success)
        #expect(results[1] == .httpFailure(status: 503))
        #expect(results[2] == .ignored(status: 418))
        #expect(results[3] == .success)
        #expect(results[4] == .tcpFailure)
        #expect(results[5] == .timeout)
        let inFlight = prober.inFlight
        #expect(inFlight == 0)
        await upstream.stop()
    }

    /// More probes than the prober's 16 receive buffers, one after another: every buffer goes back.
    @Test(arguments: EngineKind.allCases)
    func buffersAreReturnedAcrossManyProbes(engine: EngineKind) async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("prober-many-\(engine.rawValue)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = try await UpstreamProcess.start(in: directory)
        let live = SocketAddress(host: "127.0.0.1", port: UInt16(upstream.port))!
        var prober = ActiveProber(engine: engine)
        for round in 0..<40 {
            prober.start(
                node: round,
                address: live,
                check: Self.check(.http, path: "/status/200"),
                hostHeader: "h",
                now: ContinuousClock.now
            )
            let results = Self.results(&prober, count: 1)
            #expect(results[round] == .success, "probe \(round): \(String(describing: results[round]))")
            if results[round] != .success { break }
        }
        await upstream.stop()
    }
}
