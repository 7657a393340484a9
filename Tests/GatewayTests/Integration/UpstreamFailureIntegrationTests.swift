import Foundation
import TestSupport
import Testing

/// Dead, hanging and misbehaving upstreams, and the client-side header timeout.
@Suite("Integration: upstream failures and timeouts")
struct UpstreamFailureIntegrationTests {
    @Test("nothing listening upstream gives 502 quickly")
    func deadUpstream() async throws {
        let directory = try IntegrationEnvironment.makeTemporaryDirectory("dead")
        defer { try? FileManager.default.removeItem(at: directory) }
        let deadPort = try RefusingPort()
        // Held to the end: released, the port could be taken by another test's listener.
        defer { withExtendedLifetime(deadPort) {} }
        let gateway = try await GatewayProcess.start(
            yaml: GatewayConfigBuilder().yaml(upstreamPort: deadPort.port),
            in: directory
        )
        let result = try await Curl.run("\(gateway.url)/status/200", in: directory)
        let survived = gateway.process.isRunning
        let code = await gateway.stop()
        #expect(
            survived && code == 0,
            "exit status \(String(describing: code)), test signals \(gateway.process.signalsSent):\n\(gateway.logTail)"
        )
        #expect(result.status == 502)
        let json = try result.jsonObject()
        #expect(json["status"] as? Int == 502)
        #expect(json["request_id"] as? String == result.header("X-Request-Id"))
        // curl's own clock: the refusal is immediate, well inside the 1 s connect timeout.
        #expect(result.seconds < 0.9, "502 took \(result.seconds) s")
    }

    @Test("an upstream that never answers gives 504 after the read timeout")
    func hangingUpstream() async throws {
        try await timingSensitive {
            try await withProxy("hang", GatewayConfigBuilder(readTimeout: 1)) { gateway, _, _ in
                let connection = try RawConnection(port: gateway.port)
                let started = ContinuousClock().now
                try await connection.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try await connection.readResponse(timeout: .seconds(10))
                let elapsed = ContinuousClock().now - started
                #expect(response.status == 504)
                #expect(try response.jsonObject()["status"] as? Int == 504)
                #expect(elapsed >= .milliseconds(950), "504 after \(elapsed), before the 1 s read timeout")
                #expect(elapsed < .seconds(4), "504 after \(elapsed), long after the 1 s read timeout")
                // The client connection survives an upstream timeout.
                try await connection.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
            }
        }
    }

    @Test("a slow upstream within the read timeout is fine")
    func slowUpstream() async throws {
        try await withProxy("slow", GatewayConfigBuilder(readTimeout: 3)) { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/slow?delay=0.8", in: directory)
            #expect(result.status == 200)
            #expect(result.bodyString == "slept")
            #expect(result.seconds >= 0.75)
        }
    }

    @Test("a malformed upstream response (Content-Length with chunked) gives 502")
    func badUpstreamResponse() async throws {
        try await withProxy("bad") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/bad", in: directory)
            #expect(result.status == 502)
            #expect(try result.jsonObject()["status"] as? Int == 502)
            #expect(!result.bodyString.contains("hello"))
        }
    }

    @Test("a partial request head gets 408 after the header timeout, then close")
    func headerTimeout() async throws {
        try await timingSensitive {
            try await withProxy("408", GatewayConfigBuilder(headerTimeout: 1)) { gateway, upstream, _ in
                let connection = try RawConnection(port: gateway.port)
                let started = ContinuousClock().now
                try await connection.send("GET /headers HTTP/1.1\r\nHost: t\r\n")
                let response = try await connection.readResponse(timeout: .seconds(10))
                let elapsed = ContinuousClock().now - started
                #expect(response.status == 408)
                #expect(try response.jsonObject()["status"] as? Int == 408)
                #expect(elapsed >= .milliseconds(950), "408 after \(elapsed)")
                #expect(elapsed < .seconds(4), "408 after \(elapsed)")
                #expect(await connection.waitForClose())
                #expect(try await upstream.counts().requests == 0)
            }
        }
    }

    @Test("a connection that trickles its head one byte at a time still times out")
    func slowlorisHeaderTimeout() async throws {
        try await timingSensitive {
            try await withProxy("slowloris", GatewayConfigBuilder(headerTimeout: 1)) { gateway, _, _ in
                let connection = try RawConnection(port: gateway.port)
                let started = ContinuousClock().now
                var status: Int?
                let head =
                    Array("GET /headers HTTP/1.1\r\nHost: t\r\nX-Pad: ".utf8) + Array(repeating: UInt8(97), count: 200)
                for byte in head {
                    if (try? await connection.send([byte])) == nil { break }
                    await connection.receive(until: ContinuousClock().now.advanced(by: .milliseconds(20)))
                    if connection.peerClosed || !connection.buffer.isEmpty { break }
                }
                if let response = try? await connection.readResponse(timeout: .seconds(5)) { status = response.status }
                let elapsed = ContinuousClock().now - started
                #expect(status == 408)
                #expect(elapsed < .seconds(4), "trickling kept the head open for \(elapsed)")
            }
        }
    }

    @Test("an idle keep-alive client connection is closed after keepalive_timeout")
    func keepAliveTimeout() async throws {
        try await withProxy("idle", GatewayConfigBuilder(keepaliveTimeout: 1)) { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            // Timed from the send: the idle timer cannot start before that, however late this task runs.
            let started = ContinuousClock().now
            try await connection.send("GET /status/200 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await connection.readResponse().status == 200)
            #expect(await connection.waitForClose(timeout: .seconds(4)))
            let elapsed = ContinuousClock().now - started
            #expect(elapsed >= .milliseconds(900), "closed after \(elapsed)")
            #expect(connection.buffer.isEmpty, "idle close sent bytes: \(RawResponse.preview(connection.buffer))")
            // The gateway itself is still there for new connections.
            #expect(IntegrationEnvironment.portAccepts(gateway.port))
        }
    }
}
