import Foundation
import Testing

/// Smuggling-shaped and oversized requests sent as exact bytes: each gets its status and a closed connection.
@Suite("Integration: malformed requests")
struct MalformedRequestIntegrationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var status: Int

        init(_ name: String, _ text: String, status: Int = 400) {
            self.name = name
            self.bytes = Array(text.utf8)
            self.status = status
        }

        init(_ name: String, bytes: [UInt8], status: Int = 400) {
            self.name = name
            self.bytes = bytes
            self.status = status
        }

        var testDescription: String { name }
    }

    static let host = "POST /echo HTTP/1.1\r\nHost: t\r\n"

    static let cases: [Case] = [
        Case(
            "Content-Length with Transfer-Encoding",
            host + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ),
        Case(
            "Transfer-Encoding with Content-Length",
            host + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
        ),
        Case("duplicate Content-Length", host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
        Case("Content-Length list", host + "Content-Length: 5, 6\r\n\r\nhello!"),
        Case("negative Content-Length", host + "Content-Length: -1\r\n\r\n"),
        Case("Content-Length with a sign", host + "Content-Length: +5\r\n\r\nhello"),
        Case("Content-Length not a number", host + "Content-Length: 5a\r\n\r\nhello"),
        Case("Transfer-Encoding gzip", host + "Transfer-Encoding: gzip\r\n\r\n"),
        Case("chunked not final", host + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
        Case("Transfer-Encoding xchunked", host + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        Case("duplicate chunked", host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        Case("obs-fold", "GET /headers HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n"),
        Case("bare LF line endings", "GET /headers HTTP/1.1\nHost: t\n\n"),
        Case("bare CR in a header value", "GET /headers HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n"),
        Case("space before the colon", "GET /headers HTTP/1.1\r\nHost : t\r\n\r\n"),
        Case(
            "NUL in a header value",
            bytes: Array("GET /headers HTTP/1.1\r\nHost: t\r\nX-A: a".utf8) + [0] + Array("b\r\n\r\n".utf8)
        ),
        Case("bad chunk size", host + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        Case(
            "chunk size overflow",
            host + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n"
        ),
        Case("missing CRLF after chunk data", host + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"),
        Case("missing Host in HTTP/1.1", "GET /headers HTTP/1.1\r\nX-A: b\r\n\r\n"),
        Case(
            "request line too long",
            "GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: t\r\n\r\n",
            status: 414
        ),
        Case(
            "header block too large",
            "GET /headers HTTP/1.1\r\nHost: t\r\n"
                + (0..<10).map { "X-Big-\($0): " + String(repeating: "v", count: 4000) + "\r\n" }.joined() + "\r\n",
            status: 431
        ),
        Case(
            "too many header fields",
            "GET /headers HTTP/1.1\r\nHost: t\r\n" + (0..<150).map { "X-H\($0): v\r\n" }.joined() + "\r\n",
            status: 431
        ),
    ]

    /// Cases whose head is valid, so the gateway may already have forwarded it before the body went wrong.
    static let bodyCases: Set<String> = ["bad chunk size", "chunk size overflow", "missing CRLF after chunk data"]

    /// One gateway for the whole table (a process pair per case costs more than the cases themselves); every
    /// case still gets its own connection. Head cases run first so the upstream count can prove none was forwarded.
    @Test("each malformed request is rejected with its status, a JSON body and a closed connection")
    func rejected() async throws {
        try await withProxy("malformed") { gateway, upstream, _ in
            let ordered =
                Self.cases.filter { !Self.bodyCases.contains($0.name) }
                + Self.cases.filter { Self.bodyCases.contains($0.name) }
            for malformed in ordered {
                if Self.bodyCases.contains(malformed.name) {
                    #expect(try await upstream.counts().requests == 0, "a malformed head was forwarded")
                }
                try await Self.expectRejected(malformed, port: gateway.port)
            }
        }
    }

    static func expectRejected(_ malformed: Case, port: Int) async throws {
        let connection = try RawConnection(port: port)
        try await connection.send(malformed.bytes)
        let response: RawResponse
        do {
            response = try await connection.readResponse()
        } catch {
            Issue.record("\(malformed.name): \(error)")
            return
        }
        #expect(response.status == malformed.status, "\(malformed.name): \(response.status) \(response.bodyString)")
        let json = try? response.jsonObject()
        #expect(json?["status"] as? Int == malformed.status, "\(malformed.name): \(response.bodyString)")
        #expect(json?["request_id"] as? String == response.header("X-Request-Id"), "\(malformed.name)")
        #expect(await connection.waitForClose(), "\(malformed.name): connection left open")
        #expect(connection.buffer.isEmpty, "\(malformed.name): \(connection.buffer.count) bytes after the error")
    }
}
