import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM with requests in flight: they finish, new connections are refused, exit status 0.
@Suite("Integration: graceful shutdown")
struct ShutdownIntegrationTests {
    @Test("in-flight requests complete after SIGTERM; new connections are refused; exit 0")
    func drainInFlight() async throws {
        try await timingSensitive {
            let directory = try IntegrationEnvironment.makeTemporaryDirectory("drain")
            let upstream = try await UpstreamProcess.start(in: directory)
            let gateway = try await GatewayProcess.start(
                yaml: GatewayConfigBuilder(workers: 2, readTimeout: 300, drainTimeout: 60).yaml(
                    upstreamPort: upstream.port
                ),
                in: directory
            )
            let url = gateway.url
            // An idle keep-alive client connection, which the drain should close.
            let idle = try RawConnection(port: gateway.port)
            try await idle.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await idle.readResponse().status == 200)

            let finished = LockedValue(0)
            let inFlight = (0..<6).map { index in
                Task {
                    defer { finished.withLock { $0 += 1 } }
                    // Held by the upstream until the refusal check below is done, however slowly a loaded
                    // machine runs this test (fixed 8 s delays once ran out before it).
                    return try await Curl.run("\(url)/hold?key=drain&n=\(index)", in: directory)
                }
            }
            // Wait until every held request has reached the upstream.
            _ = try await eventually(timeout: .seconds(30)) {
                try await upstream.counts().requests >= 7
            }
            #expect(try await upstream.counts().requests == 7)
            let clock = ContinuousClock()
            gateway.process.signal(SIGTERM)
            // The listeners close promptly: new connections are refused while the held requests still run.
            let signalled = clock.now
            var refusal: (after: Duration, running: Bool, finished: Int)?
            while clock.now < signalled.advanced(by: .seconds(5)) {
                if !IntegrationEnvironment.portAccepts(gateway.port) {
                    refusal = (clock.now - signalled, gateway.process.isRunning, finished.value)
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(refusal != nil, "new connections were still accepted 5 s after SIGTERM")
            if let refusal {
                // Refused while the gateway was still draining, not merely because it had exited.
                #expect(refusal.running, "first refusal \(refusal.after) after SIGTERM, gateway already gone")
                // The drain keeps the requests in flight: none has ended, neither answered nor cut.
                #expect(
                    refusal.finished == 0,
                    "first refusal \(refusal.after) after SIGTERM, when \(refusal.finished) held requests had ended"
                )
            }
            try await upstream.release("drain")
            #expect(await idle.waitForClose(timeout: .seconds(3)), "idle keep-alive connection not closed by the drain")

            for task in inFlight {
                let result = try await task.value
                #expect(result.exitCode == 0, "\(result.stderr)")
                #expect(result.status == 200)
                #expect(result.bodyString == "released")
            }
            let code = await gateway.process.waitForExit(timeout: .seconds(10))
            #expect(code == 0, "gateway exit status \(String(describing: code)):\n\(gateway.log)")
            await gateway.stop()
            await upstream.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test("the drain timeout bounds the shutdown when a request hangs")
    func drainTimeout() async throws {
        try await timingSensitive {
            let directory = try IntegrationEnvironment.makeTemporaryDirectory("drain-timeout")
            let upstream = try await UpstreamProcess.start(in: directory)
            let gateway = try await GatewayProcess.start(
                yaml: GatewayConfigBuilder(readTimeout: 30, drainTimeout: 1).yaml(upstreamPort: upstream.port),
                in: directory
            )
            let hanging = try RawConnection(port: gateway.port)
            try await hanging.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
            // In flight once the upstream has it: only then has the drain something to wait for.
            let reached = try await eventually(timeout: .seconds(5)) {
                try await upstream.counts().requests >= 1
            }
            try #require(reached, "GET /hang never reached the upstream")
            let started = ContinuousClock().now
            gateway.process.signal(SIGTERM)
            let code = await gateway.process.waitForExit(timeout: .seconds(5))
            let elapsed = ContinuousClock().now - started
            #expect(code == 0, "exit status \(String(describing: code))")
            #expect(elapsed < .seconds(4), "shutdown took \(elapsed) with drain_timeout 1")
            #expect(elapsed >= .milliseconds(900), "shutdown took \(elapsed): the in-flight request was not waited for")
            await gateway.stop()
            await upstream.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }
}
