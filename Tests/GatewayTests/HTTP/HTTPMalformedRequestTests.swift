import Testing

@testable import Gateway

struct MalformedRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: [UInt8]
    var status: Int
    var reason: HTTPParseError.Reason
    var limits = HTTPLimits()

    init(_ name: String, _ raw: String, _ status: Int, _ reason: HTTPParseError.Reason) {
        self.name = name
        self.raw = Array(raw.utf8)
        self.status = status
        self.reason = reason
    }

    init(_ name: String, bytes: [UInt8], _ status: Int, _ reason: HTTPParseError.Reason, limits: HTTPLimits = .init()) {
        self.name = name
        self.raw = bytes
        self.status = status
        self.reason = reason
        self.limits = limits
    }

    var testDescription: String { name }
}

private func post(_ headerLines: String, version: String = "1.1") -> String {
    "POST /upload HTTP/\(version)\r\nHost: example.com\r\n\(headerLines)\r\n"
}

private func get(_ target: String) -> String {
    "GET \(target) HTTP/1.1\r\nHost: example.com\r\n\r\n"
}

private func smallLimits() -> HTTPLimits {
    var limits = HTTPLimits()
    limits.maxRequestLineBytes = 32
    limits.maxHeaderBytes = 128
    limits.maxHeaderCount = 4
    return limits
}

let malformedRequests: [MalformedRequest] = [
    // Framing: request smuggling vectors.
    .init("CL then TE", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400, .clAndTE),
    .init("TE then CL", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400, .clAndTE),
    .init("CL with invalid TE", post("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n"), 400, .clAndTE),
    .init("duplicate equal CL", post("Content-Length: 5\r\nContent-Length: 5\r\n"), 400, .duplicateContentLength),
    .init("duplicate different CL", post("Content-Length: 5\r\nContent-Length: 6\r\n"), 400, .duplicateContentLength),
    .init("CL list value", post("Content-Length: 5, 5\r\n"), 400, .duplicateContentLength),
    .init("CL negative", post("Content-Length: -1\r\n"), 400, .invalidContentLength),
    .init("CL plus sign", post("Content-Length: +5\r\n"), 400, .invalidContentLength),
    .init("CL empty", post("Content-Length:\r\n"), 400, .invalidContentLength),
    .init("CL letters", post("Content-Length: abc\r\n"), 400, .invalidContentLength),
    .init("CL hex", post("Content-Length: 0x10\r\n"), 400, .invalidContentLength),
    .init("CL inner space", post("Content-Length: 1 0\r\n"), 400, .invalidContentLength),
    .init("CL overflow", post("Content-Length: 99999999999999999999\r\n"), 400, .invalidContentLength),
    .init("CL Int64.max + 1", post("Content-Length: 9223372036854775808\r\n"), 400, .invalidContentLength),
    .init("TE gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n"), 400, .unsupportedTransferEncoding),
    .init("TE chunked, chunked", post("Transfer-Encoding: chunked, chunked\r\n"), 400, .unsupportedTransferEncoding),
    .init("TE xchunked", post("Transfer-Encoding: xchunked\r\n"), 400, .unsupportedTransferEncoding),
    .init("TE chunkedx", post("Transfer-Encoding: chunkedx\r\n"), 400, .unsupportedTransferEncoding),
    .init("TE identity", post("Transfer-Encoding: identity\r\n"), 400, .unsupportedTransferEncoding),
    .init(
        "two TE headers",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"),
        400,
        .unsupportedTransferEncoding
    ),
    .init("TE with parameter", post("Transfer-Encoding: chunked;q=1\r\n"), 400, .unsupportedTransferEncoding),
    .init(
        "TE in HTTP/1.0",
        post("Transfer-Encoding: chunked\r\n", version: "1.0"),
        400,
        .unsupportedTransferEncoding
    ),
    // Header syntax.
    .init("obs-fold", post("X-A: one\r\n two\r\n"), 400, .obsFold),
    .init("obs-fold with tab", post("X-A: one\r\n\ttwo\r\n"), 400, .obsFold),
    .init("whitespace before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, .obsFold),
    .init("bare CR in value", post("X-A: a\rb\r\n"), 400, .bareCR),
    .init("bare LF ending a header", post("X-A: a\n"), 400, .bareLF),
    .init("bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, .bareLF),
    .init("CR without LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\rX", 400, .bareCR),
    .init("bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, .bareLF),
    .init("bare CR after the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, .bareCR),
    .init("NUL in value", post("X-A: a\u{0}b\r\n"), 400, .invalidHeaderValue),
    .init("DEL in value", post("X-A: a\u{7F}b\r\n"), 400, .invalidHeaderValue),
    .init("control byte in value", post("X-A: a\u{1}b\r\n"), 400, .invalidHeaderValue),
    .init("space before colon", post("Content-Length : 5\r\n"), 400, .whitespaceBeforeColon),
    .init("tab before colon", post("Transfer-Encoding\t: chunked\r\n"), 400, .whitespaceBeforeColon),
    .init("empty header name", post(": value\r\n"), 400, .invalidHeaderName),
    .init("non-token header name", post("X@Y: value\r\n"), 400, .invalidHeaderName),
    .init("header without colon", post("NoColon\r\n"), 400, .invalidHeaderName),
    .init("non-ASCII header name", post("X-\u{E9}: value\r\n"), 400, .invalidHeaderName),
    // Host.
    .init("missing Host in 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, .missingHost),
    .init("two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, .duplicateHost),
    .init("Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, .invalidHost),
    .init("Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, .invalidHost),
    .init("Host with inner space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, .invalidHost),
    // Request line.
    .init("double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("missing version", "GET /\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("two-digit minor version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("non-token method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("two leading CRLFs", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, .bareLF),
    .init("tab in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, .badRequestLine),
    .init("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, .badVersion),
    .init("HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, .badVersion),
    .init("HTTP/0.9 style version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, .badVersion),
    .init("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, .badVersion),
    .init("CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 501, .methodNotImplemented),
    // Targets.
    .init("relative target", get("index.html"), 400, .badTarget),
    .init("authority-form for GET", get("example.com:80"), 400, .badTarget),
    .init("asterisk for GET", get("*"), 400, .badTarget),
    .init("absolute-form with userinfo", get("http://user@example.com/"), 400, .badTarget),
    .init("absolute-form without authority", get("http:///x"), 400, .badTarget),
    .init("ftp scheme", get("ftp://example.com/"), 400, .badTarget),
    .init("fragment", get("/a#frag"), 400, .badTarget),
    .init("non-ASCII in target", get("/caf\u{E9}"), 400, .badTarget),
    .init("dot-dot segment", get("/a/../b"), 400, .pathTraversal),
    .init("trailing dot-dot", get("/static/.."), 400, .pathTraversal),
    .init("encoded dot-dot", get("/%2e%2e/etc/passwd"), 400, .pathTraversal),
    .init("mixed-case encoded dot-dot", get("/a/.%2E/b"), 400, .pathTraversal),
    .init("dot-dot before encoded slash", get("/a/..%2fb"), 400, .pathTraversal),
    .init("dot-dot with backslash", get("/a/..\\b"), 400, .pathTraversal),
    .init("dot-dot in absolute-form", get("http://example.com/a/../b"), 400, .pathTraversal),
    // Limits.
    .init(
        "request line over the limit without CRLF",
        bytes: Array(("GET /" + String(repeating: "a", count: 40)).utf8),
        414,
        .requestLineTooLong,
        limits: smallLimits()
    ),
    .init(
        "request line over the limit with CRLF",
        bytes: Array(("GET /" + String(repeating: "a", count: 40) + " HTTP/1.1\r\nHost: a\r\n\r\n").utf8),
        414,
        .requestLineTooLong,
        limits: smallLimits()
    ),
    .init(
        "request line over the default limit",
        bytes: Array(("GET /" + String(repeating: "a", count: 8200)).utf8),
        414,
        .requestLineTooLong
    ),
    .init(
        "head over the limit",
        bytes: Array(("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 200)).utf8),
        431,
        .headerTooLarge,
        limits: smallLimits()
    ),
    .init(
        "head over the default limit",
        bytes: Array(
            ("GET / HTTP/1.1\r\nHost: a\r\n"
                + String(repeating: "X-Pad: " + String(repeating: "p", count: 900) + "\r\n", count: 40))
                .utf8
        ),
        431,
        .headerTooLarge
    ),
    .init(
        "too many headers",
        bytes: Array("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n".utf8),
        431,
        .tooManyHeaders,
        limits: smallLimits()
    ),
    .init(
        "too many headers at the default limit",
        bytes: Array(("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "A: 1\r\n", count: 100) + "\r\n").utf8),
        431,
        .tooManyHeaders
    ),
]

@Suite struct HTTPMalformedRequestTests {
    @Test func tableIsLargeEnough() {
        #expect(malformedRequests.count >= 45)
    }

    @Test(arguments: malformedRequests)
    func rejected(_ request: MalformedRequest) {
        let result = HTTPTest.parseRequest(request.raw, limits: request.limits)
        #expect(result == .invalid(HTTPParseError(status: request.status, reason: request.reason)))
    }

    /// A prefix of a malformed request is either still incomplete or already the same error.
    @Test(arguments: malformedRequests)
    func prefixesAreIncompleteOrTheSameError(_ request: MalformedRequest) {
        let expected = HTTPParseError(status: request.status, reason: request.reason)
        let headers = HTTPHeaderIndex()
        for cut in 0..<request.raw.count {
            let result = HTTPTest.parseRequest(Array(request.raw[..<cut]), headers: headers, limits: request.limits)
            switch result {
            case .incomplete: continue
            case .invalid(let error): #expect(error == expected, "prefix of \(cut) bytes")
            case .complete: Issue.record("prefix of \(cut) bytes parsed as complete")
            }
        }
    }
}
