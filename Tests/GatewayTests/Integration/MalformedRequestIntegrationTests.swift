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

    @Test("rejected with its status and the connection closed", arguments: cases)
    func rejected(_ malformed: Case) async throws {
        try await withProxy("malformed") { gateway, upstream, _ in
            let connection = try RawConnection(port: gateway.port)
            try connection.send(malformed.bytes)
            let response = try await connection.readResponse()
            #expect(response.status == malformed.status, "\(malformed.name): \(response.status) \(response.bodyString)")
            let json = try? response.jsonObject()
            #expect(json?["status"] as? Int == malformed.status)
            #expect(json?["request_id"] as? String == response.header("X-Request-Id"))
            #expect(await connection.waitForClose(), "\(malformed.name): connection left open")
            #expect(connection.buffer.isEmpty, "\(malformed.name): bytes after the error: \(connection.buffer.count)")
            if malformed.name != "bad chunk size" && malformed.name != "chunk size overflow"
                && malformed.name != "missing CRLF after chunk data"
            {
                // The head itself was bad: nothing reached the upstream.
                #expect(try await upstream.counts().requests == 0, "\(malformed.name) was forwarded")
            }
        }
    }
}
