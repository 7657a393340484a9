import Foundation
import Testing

/// Slow and vanishing clients, concurrency, and upstream pool limits.
@Suite("Integration: backpressure and client behaviour")
struct BackpressureIntegrationTests {
    @Test("a slow client reading a fast 60 MB download does not make the gateway buffer it")
    func slowClientDownload() async throws {
        try await withProxy("slow-client") { gateway, _, directory in
            let size = 60 * 1024 * 1024
            let sampler = ResidentSetSampler(pid: gateway.pid)
            let result = try await Curl.run(
                "\(gateway.url)/big?size=\(size)",
                ["--limit-rate", "30M"],
                in: directory,
                discardBody: true
            )
            let peak = await sampler.stop()
            #expect(result.status == 200)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.seconds > 1.5, "the rate limit did not apply (\(result.seconds) s)")
            #expect(peak < 64 * 1024, "gateway peak RSS \(peak) KiB while a slow client downloads 60 MB")
        }
    }

    @Test("a client vanishing mid-download leaves the gateway serving")
    func clientAbortsDownload() async throws {
        try await withProxy("abort") { gateway, _, directory in
            for _ in 0..<3 {
                let connection = try RawConnection(port: gateway.port)
                try await connection.send("GET /big?size=50000000 HTTP/1.1\r\nHost: t\r\n\r\n")
                let deadline = ContinuousClock().now.advanced(by: .seconds(5))
                while connection.buffer.count < 200_000, !connection.peerClosed {
                    guard await connection.receive(until: deadline) else { break }
                }
                #expect(connection.buffer.count >= 200_000)
                connection.close()
            }
            let after = try await Curl.run("\(gateway.url)/echo", ["--data-binary", "still here"], in: directory)
            #expect(after.status == 200)
            #expect(after.bodyString == "still here")
        }
    }

    @Test("a client vanishing mid-upload leaves the gateway serving")
    func clientAbortsUpload() async throws {
        try await withProxy("abort-up") { gateway, _, directory in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n")
            try await connection.send(Array(repeating: 120, count: 100_000))
            try await Task.sleep(for: .milliseconds(200))
            connection.close()
            let after = try await Curl.run("\(gateway.url)/status/200", in: directory)
            #expect(after.status == 200)
        }
    }

    @Test("twenty concurrent clients all get their own answers")
    func concurrentClients() async throws {
        try await withProxy("concurrent", GatewayConfigBuilder(workers: 2)) { gateway, _, directory in
            let url = gateway.url
            let results = try await withThrowingTaskGroup(of: (Int, CurlResult).self) { group in
                for index in 0..<20 {
                    group.addTask {
                        (index, try await Curl.run("\(url)/echo", ["--data-binary", "client-\(index)"], in: directory))
                    }
                }
                return try await group.reduce(into: [(Int, CurlResult)]()) { $0.append($1) }
            }
            #expect(results.count == 20)
            for (index, result) in results {
                #expect(result.status == 200)
                #expect(result.bodyString == "client-\(index)")
            }
        }
    }

    @Test("keepalive_pool.requests caps the requests per upstream connection")
    func poolRequestLimit() async throws {
        var config = GatewayConfigBuilder()
        config.extraUpstreams = """
              - id: capped
                nodes: {"127.0.0.1:UPSTREAM_PORT": 1}
                keepalive_pool: {size: 4, idle_timeout: 300, requests: 3}

            """
        config.extraRoutes = """
              - id: capped-route
                uris: ["/capped/*"]
                upstream_id: capped

            """
        try await withProxy("pool-cap", config) { gateway, upstream, _ in
            let connection = try RawConnection(port: gateway.port)
            var perConnection: [Int: Int] = [:]
            for _ in 0..<9 {
                try await connection.send("GET /capped/headers HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                if let id = try response.jsonObject()["conn_id"] as? Int { perConnection[id, default: 0] += 1 }
            }
            #expect(perConnection.values.allSatisfy { $0 <= 3 }, "\(perConnection)")
            let connections = try await upstream.counts().connections
            #expect(connections == 3, "\(connections) upstream connections for 9 requests: \(perConnection)")
        }
    }
}
