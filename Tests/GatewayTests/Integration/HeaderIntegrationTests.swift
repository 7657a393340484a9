import Foundation
import Testing

/// Headers the gateway adds, keeps, removes and rewrites on the way to the upstream.
@Suite("Integration: proxy headers")
struct HeaderIntegrationTests {
    /// The request headers the upstream received, from its `/headers` JSON.
    static func upstreamHeaders(_ json: [String: Any]) -> [(name: String, value: String)] {
        (json["headers"] as? [[String]] ?? []).compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    }

    static func values(_ headers: [(name: String, value: String)], _ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    @Test("X-Forwarded-For, -Proto and -Host are set")
    func forwardedHeaders() async throws {
        try await withProxy("xff") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/headers", ["-H", "Host: shop.example:8080"], in: directory)
            #expect(result.status == 200)
            let headers = Self.upstreamHeaders(try result.jsonObject())
            #expect(Self.values(headers, "X-Forwarded-For") == ["127.0.0.1"])
            #expect(Self.values(headers, "X-Forwarded-Proto") == ["http"])
            #expect(Self.values(headers, "X-Forwarded-Host") == ["shop.example:8080"])
            #expect(Self.values(headers, "Host") == ["shop.example:8080"])
        }
    }

    @Test("a client's X-Forwarded-For is extended with the client address")
    func forwardedForAppends() async throws {
        try await withProxy("xff-append") { gateway, _, directory in
            let result = try await Curl.run(
                "\(gateway.url)/headers",
                ["-H", "X-Forwarded-For: 10.1.2.3"],
                in: directory
            )
            let headers = Self.upstreamHeaders(try result.jsonObject())
            let forwarded = Self.values(headers, "X-Forwarded-For").joined(separator: ", ")
            #expect(forwarded == "10.1.2.3, 127.0.0.1")
        }
    }

    @Test("a client-supplied X-Request-Id is kept, forwarded and echoed")
    func clientRequestID() async throws {
        try await withProxy("reqid-client") { gateway, _, directory in
            let result = try await Curl.run(
                "\(gateway.url)/headers",
                ["-H", "X-Request-Id: trace-abc-123"],
                in: directory
            )
            #expect(result.header("X-Request-Id") == "trace-abc-123")
            let headers = Self.upstreamHeaders(try result.jsonObject())
            #expect(Self.values(headers, "X-Request-Id") == ["trace-abc-123"])
        }
    }

    @Test("a generated X-Request-Id is 32 hex digits, sent upstream and returned, unique per request")
    func generatedRequestID() async throws {
        try await withProxy("reqid-gen") { gateway, _, directory in
            var seen = Set<String>()
            for _ in 0..<3 {
                let result = try await Curl.run("\(gateway.url)/headers", in: directory)
                let id = try #require(result.header("X-Request-Id"))
                #expect(id.count == 32)
                #expect(id.allSatisfy { $0.isHexDigit })
                let headers = Self.upstreamHeaders(try result.jsonObject())
                #expect(Self.values(headers, "X-Request-Id") == [id])
                seen.insert(id)
            }
            #expect(seen.count == 3)
            // Gateway-generated responses carry one too.
            let demo = try await Curl.run("\(gateway.url)/__demo", in: directory)
            #expect(demo.header("X-Request-Id")?.count == 32)
        }
    }

    @Test("hop-by-hop headers, and those named in Connection, are not forwarded")
    func hopByHop() async throws {
        try await withProxy("hop") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send(
                "GET /headers HTTP/1.1\r\nHost: t\r\nConnection: foo, keep-alive\r\nFoo: bar\r\nKeep-Alive: x\r\n"
                    + "TE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: websocket\r\n"
                    + "Proxy-Authorization: Basic eDp5\r\nX-Keep: yes\r\n\r\n"
            )
            let response = try await connection.readResponse()
            #expect(response.status == 200)
            let headers = Self.upstreamHeaders(try response.jsonObject())
            let names = Set(headers.map { $0.name.lowercased() })
            for removed in ["foo", "keep-alive", "te", "proxy-connection", "upgrade", "proxy-authorization"] {
                #expect(!names.contains(removed), "\(removed) reached the upstream: \(headers)")
            }
            for value in Self.values(headers, "Connection") {
                #expect(!value.lowercased().contains("foo"))
            }
            #expect(Self.values(headers, "X-Keep") == ["yes"])
            // Hop-by-hop headers of the upstream's response are not passed to the client either.
            #expect(response.header("Keep-Alive") == nil)
        }
    }

    @Test("pass_host pass, node and rewrite send the right Host upstream")
    func passHost() async throws {
        var config = GatewayConfigBuilder()
        config.extraUpstreams = """
              - id: by-node
                nodes: {"127.0.0.1:UPSTREAM_PORT": 1}
                pass_host: node
              - id: by-rewrite
                nodes: {"127.0.0.1:UPSTREAM_PORT": 1}
                pass_host: rewrite
                upstream_host: internal.example:8443

            """
        config.extraRoutes = """
              - id: node-route
                uris: ["/node/*"]
                upstream_id: by-node
              - id: rewrite-route
                uris: ["/rewrite/*"]
                upstream_id: by-rewrite

            """
        try await withProxy("passhost", config) { gateway, upstream, directory in
            let client = ["-H", "Host: client.example"]
            let passed = try await Curl.run("\(gateway.url)/headers", client, in: directory)
            #expect(Self.values(Self.upstreamHeaders(try passed.jsonObject()), "Host") == ["client.example"])
            let node = try await Curl.run("\(gateway.url)/node/headers", client, in: directory)
            #expect(Self.values(Self.upstreamHeaders(try node.jsonObject()), "Host") == ["127.0.0.1:\(upstream.port)"])
            let rewritten = try await Curl.run("\(gateway.url)/rewrite/headers", client, in: directory)
            let rewrittenHeaders = Self.upstreamHeaders(try rewritten.jsonObject())
            #expect(Self.values(rewrittenHeaders, "Host") == ["internal.example:8443"])
            // The client's Host stays visible as X-Forwarded-Host.
            #expect(Self.values(rewrittenHeaders, "X-Forwarded-Host") == ["client.example"])
        }
    }
}
