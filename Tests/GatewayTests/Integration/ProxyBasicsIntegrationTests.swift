import Foundation
import TestSupport
import Testing

/// Requests a real client (curl) sends through the built gateway to a real upstream.
@Suite("Integration: proxy basics")
struct ProxyBasicsIntegrationTests {
    @Test("mock route answers without an upstream")
    func mockRoute() async throws {
        try await withProxy("mock") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/__demo", in: directory)
            #expect(result.exitCode == 0)
            #expect(result.status == 200)
            #expect(result.bodyString == #"{"hello":"gateway"}"#)
            #expect(result.header("Content-Type") == "application/json")
            #expect(result.header("Content-Length") == "19")
        }
    }

    @Test("GET is proxied with the upstream's status, headers and body")
    func proxiedGet() async throws {
        try await withProxy("get") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/big?size=100000", in: directory)
            #expect(result.status == 200)
            #expect(result.body.count == 100_000)
            #expect(result.header("Content-Length") == "100000")
            #expect(try await result.header("X-Body-Sha256") == Pattern.sha256(size: 100_000))
            #expect(try await Pattern.sha256(result.body) == Pattern.sha256(size: 100_000))
            let missing = try await Curl.run("\(gateway.url)/status/404", in: directory)
            #expect(missing.status == 404)
            #expect(missing.bodyString == "status 404")
        }
    }

    @Test("POST body is proxied and echoed byte for byte")
    func proxiedPost() async throws {
        try await withProxy("post") { gateway, _, directory in
            let payload = (0..<5000).map { "line \($0)\n" }.joined()
            let file = directory.appendingPathComponent("payload")
            try payload.writeTestFile(to: file)
            let result = try await Curl.run("\(gateway.url)/echo", ["--data-binary", "@\(file.path)"], in: directory)
            #expect(result.status == 200)
            #expect(result.header("X-Echo-Method") == "POST")
            #expect(result.bodyString == payload)
        }
    }

    @Test("HEAD returns the GET headers and no body, and the connection stays usable")
    func head() async throws {
        try await withProxy("head") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("HEAD /big?size=5000 HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try await connection.readResponse(method: "HEAD")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5000")
            #expect(head.body.isEmpty)
            try await connection.send("GET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n")
            let next = try await connection.readResponse()
            #expect(next.status == 201)
            #expect(next.bodyString == "status 201")
            #expect(connection.buffer.isEmpty)
        }
    }

    @Test("204 and 304 carry no body and keep the connection in sync", arguments: [204, 304])
    func noBodyStatuses(status: Int) async throws {
        try await withProxy("nobody-\(status)") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("GET /status/\(status) HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.status == status)
            #expect(response.body.isEmpty)
            #expect(response.header("Transfer-Encoding") == nil)
            try await connection.send("GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc")
            let next = try await connection.readResponse()
            #expect(next.status == 200)
            #expect(next.bodyString == "abc")
        }
    }

    @Test("close-delimited upstream response reaches the client whole")
    func closeDelimited() async throws {
        try await withProxy("close") { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/close?size=300000", in: directory)
            #expect(result.exitCode == 0)
            #expect(result.status == 200)
            #expect(result.body.count == 300_000)
            #expect(try await Pattern.sha256(result.body) == Pattern.sha256(size: 300_000))
            // The same through a raw client, which checks the framing the gateway chose.
            let connection = try RawConnection(port: gateway.port)
            try await connection.send("GET /close?size=70000 HTTP/1.1\r\nHost: t\r\n\r\n")
            let raw = try await connection.readResponse()
            #expect(raw.body.count == 70000)
            if raw.framing == "close" {
                #expect(await connection.waitForClose())
            }
        }
    }

    @Test("no matching route gives 404 JSON with the request id")
    func notFound() async throws {
        try await withProxy("404", GatewayConfigBuilder(catchAll: false)) { gateway, _, directory in
            let result = try await Curl.run("\(gateway.url)/nothing/here", in: directory)
            #expect(result.status == 404)
            let json = try result.jsonObject()
            #expect(json["status"] as? Int == 404)
            #expect((json["error"] as? String)?.isEmpty == false)
            let id = try #require(result.header("X-Request-Id"))
            #expect(json["request_id"] as? String == id)
            #expect(result.header("Content-Type")?.hasPrefix("application/json") == true)
        }
    }

    @Test("a body over the route's client_max_body_size gives 413")
    func bodyTooLarge() async throws {
        try await withProxy("413") { gateway, upstream, directory in
            let file = directory.appendingPathComponent("payload")
            try Data(repeating: 65, count: 2048).writeTestFile(to: file)
            let over = try await Curl.run(
                "\(gateway.url)/limited/upload",
                ["--data-binary", "@\(file.path)"],
                in: directory
            )
            #expect(over.status == 413)
            #expect(try over.jsonObject()["status"] as? Int == 413)
            let small = try await Curl.run("\(gateway.url)/limited/upload", ["--data-binary", "abc"], in: directory)
            #expect(small.status == 200)
            #expect(try small.jsonObject()["bytes"] as? Int == 3)
            // Only the small request reached the upstream.
            #expect(try await upstream.counts().requests == 1)
        }
    }

    @Test("a chunked body over the route's limit gives 413")
    func chunkedBodyTooLarge() async throws {
        try await withProxy("413-chunked") { gateway, _, _ in
            let connection = try RawConnection(port: gateway.port)
            let chunk = String(repeating: "x", count: 1000)
            try await connection.send(
                "POST /limited/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3e8\r\n\(chunk)\r\n3e8\r\n\(chunk)\r\n0\r\n\r\n"
            )
            let response = try await connection.readResponse()
            #expect(response.status == 413, "body: \(response.bodyString)")
        }
    }
}

/// The upstream's deterministic body pattern, and SHA-256 through `sha256sum`.
enum Pattern {
    static let piece: [UInt8] = (0..<65536).map { UInt8(($0 * 31 + 7) % 251) }

    static func bytes(size: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(size)
        while result.count < size { result.append(contentsOf: piece.prefix(size - result.count)) }
        return result
    }

    static func sha256(size: Int) async throws -> String {
        try await sha256(bytes(size: size))
    }

    static func sha256(_ bytes: [UInt8]) async throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-it-hash-\(UUID().uuidString)")
        try Data(bytes).writeTestFile(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try await sha256(file: file)
    }

    /// Runs `sha256sum` through files, not pipes: a pipe's write end could leak into a child spawned concurrently.
    static func sha256(file: URL) async throws -> String {
        let result = try await Command.run("sha256sum", [file.path], in: file.deletingLastPathComponent())
        guard result.exitCode == 0, let digest = result.stdout.split(separator: " ").first else {
            throw IntegrationError("sha256sum \(file.path) failed: \(result.log)")
        }
        return String(digest)
    }
}
