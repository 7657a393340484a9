import Foundation
import TestSupport
import Testing

/// Connection reuse on both sides of the gateway, and pipelining.
@Suite("Integration: keep-alive and pipelining")
struct KeepAliveIntegrationTests {
    @Test("many requests on one client connection reuse one upstream connection")
    func keepAliveBothSides() async throws {
        try await withProxy("keepalive") { gateway, upstream, _ in
            let connection = try RawConnection(port: gateway.port)
            var upstreamConnections = Set<Int>()
            for index in 0..<20 {
                try await connection.send("GET /headers?n=\(index) HTTP/1.1\r\nHost: t\r\n\r\n")
                let response = try await connection.readResponse()
                #expect(response.status == 200)
                let json = try response.jsonObject()
                #expect(json["target"] as? String == "/headers?n=\(index)")
                if let id = json["conn_id"] as? Int { upstreamConnections.insert(id) }
            }
            #expect(!connection.peerClosed)
            #expect(upstreamConnections.count == 1)
            let counts = try await upstream.counts()
            #expect(counts.requests == 20)
            #expect(counts.connections == 1)
        }
    }

    @Test("curl reuses its connection for several URLs and the upstream sees few connections")
    func curlReuse() async throws {
        try await withProxy("curl-reuse") { gateway, upstream, directory in
            let urls = (0..<10).map { "\(gateway.url)/echo?n=\($0)" }
            let result = try await Command.run(
                "curl",
                ["--http1.1", "-sS", "-w", "%{http_code}:%{num_connects}\\n", "-o", "/dev/null"]
                    + urls.dropLast().flatMap { [$0, "-o", "/dev/null"] } + [urls.last!],
                in: directory
            )
            #expect(result.exitCode == 0)
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.count == 10)
            #expect(lines.allSatisfy { $0.hasPrefix("200:") })
            // One TCP connect for all ten transfers.
            #expect(lines.compactMap { Int($0.split(separator: ":").last ?? "") }.reduce(0, +) == 1)
            let counts = try await upstream.counts()
            #expect(counts.requests == 10)
            #expect(counts.connections == 1)
        }
    }

    @Test("sequential client connections share the upstream keep-alive pool")
    func poolAcrossClients() async throws {
        try await withProxy("pool") { gateway, upstream, directory in
            for _ in 0..<8 {
                let result = try await Curl.run("\(gateway.url)/status/200", in: directory)
                #expect(result.status == 200)
            }
            let counts = try await upstream.counts()
            #expect(counts.requests == 8)
            #expect(counts.connections == 1)
        }
    }

    @Test("pipelined requests in one write are answered in order")
    func pipelining() async throws {
        try await withProxy("pipeline") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send(
                "GET /slow?delay=0.3 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"
                    + "GET /status/204 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "HEAD /big?size=77 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /__demo HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "GET /headers HTTP/1.1\r\nHost: t\r\nX-Order: last\r\n\r\n"
            )
            let slow = try await connection.readResponse()
            #expect(slow.status == 200)
            #expect(slow.bodyString == "slept")
            let echo = try await connection.readResponse()
            #expect(echo.status == 200)
            #expect(echo.bodyString == "hello world")
            let noContent = try await connection.readResponse()
            #expect(noContent.status == 204)
            let head = try await connection.readResponse(method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "77")
            let demo = try await connection.readResponse()
            #expect(demo.bodyString == #"{"hello":"gateway"}"#)
            let last = try await connection.readResponse()
            let headers = try last.jsonObject()["headers"] as? [[String]] ?? []
            #expect(headers.contains(["X-Order", "last"]))
            #expect(connection.buffer.isEmpty)
        }
    }

    @Test("Connection: close from the client closes after the response")
    func clientClose() async throws {
        try await withProxy("client-close") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("GET /status/200 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            #expect(await connection.waitForClose())
        }
    }
}
