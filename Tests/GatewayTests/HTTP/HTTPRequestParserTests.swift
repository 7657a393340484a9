import Testing

@testable import Gateway

struct ValidRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var raw: [UInt8]
    var testDescription: String { name }

    init(_ name: String, _ raw: String) {
        self.name = name
        self.raw = Array(raw.utf8)
    }
}

let validRequests: [ValidRequest] = [
    .init("GET", "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"),
    .init("HEAD", "HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
    .init("POST with CL", "POST /api HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\nhello world"),
    .init(
        "chunked POST",
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
    ),
    .init("absolute-form", "GET http://Example.COM:8080/p/q?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n"),
    .init("query string", "GET /search?q=a+b&lang=en HTTP/1.1\r\nHost: a\r\n\r\n"),
    .init("expect continue", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"),
    .init("HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
    .init("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n"),
    .init("leading CRLF", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    .init("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
    .init("empty value and obs-text", "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Text: caf\u{E9}\t\r\n\r\n"),
    .init("Connection close with options", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\nX-Foo: 1\r\n\r\n"),
    .init("dots that are not traversal", "GET /a/.../b/..c/.d/./e%2e HTTP/1.1\r\nHost: a\r\n\r\n"),
    .init("custom method", "PURGE /cache HTTP/1.1\r\nHost: a\r\n\r\n"),
    .init("CL zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
    .init("IPv6 host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
]

@Suite struct HTTPRequestParserTests {
    private func parse(_ raw: String, headers: HTTPHeaderIndex = HTTPHeaderIndex()) -> (HTTPRequestHead, [UInt8])? {
        let bytes = HTTPTest.bytes(raw)
        guard let head = HTTPTest.requestHead(HTTPTest.parseRequest(bytes, headers: headers)) else { return nil }
        return (head, bytes)
    }

    @Test func simpleGet() throws {
        let headers = HTTPHeaderIndex()
        let (head, bytes) = try #require(
            parse(
                "GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n",
                headers: headers
            )
        )
        #expect(head.method == .get)
        #expect(HTTPTest.string(bytes, head.methodRange) == "GET")
        #expect(HTTPTest.string(bytes, head.targetRange) == "/index.html")
        #expect(HTTPTest.string(bytes, head.pathRange) == "/index.html")
        #expect(head.queryRange == nil)
        #expect(head.versionMinor == 1)
        #expect(head.headLength == bytes.count)
        #expect(HTTPTest.string(bytes, head.host) == "example.com")
        #expect(HTTPTest.string(bytes, head.userAgent) == "curl/8.0")
        #expect(head.body == .none)
        #expect(head.keepAlive)
        #expect(!head.expectContinue)
        #expect(headers.count == 3)
        #expect(headers.kind(0) == .host)
        #expect(HTTPTest.fields(bytes, headers).map(\.0) == ["Host", "User-Agent", "Accept"])
    }

    @Test func postWithContentLength() throws {
        let (head, bytes) = try #require(
            parse("POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world")
        )
        #expect(head.method == .post)
        #expect(head.body == .contentLength(11))
        #expect(head.headLength == bytes.count - 11)
    }

    @Test func chunkedAndCaseInsensitiveTransferEncoding() throws {
        let (head, _) = try #require(parse("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \r\n\r\n"))
        #expect(head.body == .chunked)
    }

    @Test func absoluteFormUsesTheAuthorityAsHost() throws {
        let (head, bytes) = try #require(parse("GET http://Example.COM:8080/p/q?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n"))
        #expect(head.targetForm == .absolute)
        #expect(HTTPTest.string(bytes, head.host) == "Example.COM:8080")
        #expect(HTTPTest.string(bytes, head.pathRange) == "/p/q")
        #expect(HTTPTest.string(bytes, head.queryRange) == "x=1")
        let (bare, bareBytes) = try #require(parse("GET https://h.example HTTP/1.1\r\nHost: h.example\r\n\r\n"))
        #expect(bare.pathRange.isEmpty)
        #expect(HTTPTest.string(bareBytes, bare.host) == "h.example")
    }

    @Test func queryString() throws {
        let (head, bytes) = try #require(parse("GET /search?q=a+b&lang=en HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(HTTPTest.string(bytes, head.pathRange) == "/search")
        #expect(HTTPTest.string(bytes, head.queryRange) == "q=a+b&lang=en")
        let (empty, emptyBytes) = try #require(parse("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(HTTPTest.string(emptyBytes, empty.queryRange) == "")
    }

    @Test func expectContinue() throws {
        let (head, _) = try #require(
            parse("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n")
        )
        #expect(head.expectContinue)
        #expect(head.method.isIdempotent)
        let (old, _) = try #require(parse("PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"))
        #expect(!old.expectContinue)
    }

    @Test func keepAliveRules() throws {
        #expect(try #require(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).0.keepAlive)
        #expect(!(try #require(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n")).0.keepAlive))
        #expect(!(try #require(parse("GET / HTTP/1.0\r\n\r\n")).0.keepAlive))
        #expect(try #require(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).0.keepAlive)
        #expect(!(try #require(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n")).0.keepAlive))
    }

    @Test func headersNamedInConnectionAreFlagged() throws {
        let headers = HTTPHeaderIndex()
        let (_, bytes) = try #require(
            parse(
                "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo, ,X-Bar\r\nX-Foo: 1\r\nx-bar: 2\r\nX-Baz: 3\r\n\r\n",
                headers: headers
            )
        )
        let flagged = (0..<headers.count).filter { headers.isListedInConnection($0) }
        #expect(flagged.map { HTTPTest.string(bytes, headers.name($0)) } == ["X-Foo", "x-bar"])
        #expect(headers.isHopByHop(1))
        #expect(!headers.isHopByHop(4))
    }

    @Test func requestIDAndForwardedFor() throws {
        let (head, bytes) = try #require(
            parse("GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: abc\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
        )
        #expect(HTTPTest.string(bytes, head.requestID) == "abc")
        #expect(HTTPTest.string(bytes, head.xForwardedFor) == "10.0.0.1")
    }

    @Test func valueWhitespaceIsTrimmed() throws {
        let headers = HTTPHeaderIndex()
        let (_, bytes) = try #require(parse("GET / HTTP/1.1\r\nHost:\t a \t\r\nX-A: b  c \r\n\r\n", headers: headers))
        #expect(HTTPTest.fields(bytes, headers).map(\.1) == ["a", "b  c"])
    }

    @Test func pipelinedHeadsBackToBack() throws {
        let first = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok"
        let third = "\r\nGET /three HTTP/1.1\r\nHost: a\r\n\r\n"
        let bytes = HTTPTest.bytes(first + second + third)
        let headers = HTTPHeaderIndex()
        var offset = 0
        var paths: [String] = []
        while offset < bytes.count {
            let rest = Array(bytes[offset...])
            let head = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(rest, headers: headers)))
            paths.append(HTTPTest.string(rest, head.pathRange)!)
            offset += head.headLength
            if case .contentLength(let length) = head.body { offset += Int(length) }
        }
        #expect(paths == ["/one", "/two", "/three"])
        #expect(offset == bytes.count)
    }

    @Test func methods() {
        for (token, method) in [
            ("GET", HTTPMethod.get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
            ("CONNECT", .connect), ("OPTIONS", .options), ("TRACE", .trace), ("PATCH", .patch), ("get", .other),
            ("PURGE", .other),
        ] {
            let parsed = token.utf8.withContiguousStorageIfAvailable { HTTPMethod(parsing: UnsafeRawBufferPointer($0)) }
            #expect(parsed == method, "\(token)")
        }
        #expect(HTTPMethod(name: "DELETE") == .delete)
        #expect(HTTPMethod(name: "delete") == nil)
        #expect(HTTPMethod(name: "PURGE") == nil)
        #expect(HTTPMethod.allCases.filter(\.isIdempotent) == [.get, .head, .put, .delete, .options, .trace])
    }

    @Test func headerIndexCapacityBoundsTheCount() {
        var limits = HTTPLimits()
        limits.maxHeaderCount = 1000
        let raw = HTTPTest.bytes("GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "A: 1\r\n", count: 8) + "\r\n")
        let result = HTTPTest.parseRequest(raw, headers: HTTPHeaderIndex(capacity: 4), limits: limits)
        #expect(result == .invalid(HTTPParseError(status: 431, reason: .tooManyHeaders)))
    }

    @Test func limitsAreInclusive() {
        var limits = HTTPLimits()
        let line = "GET /" + String(repeating: "a", count: 10) + " HTTP/1.1"
        let raw = HTTPTest.bytes(line + "\r\nHost: a\r\n\r\n")
        limits.maxRequestLineBytes = line.utf8.count
        limits.maxHeaderBytes = raw.count
        #expect(HTTPTest.requestHead(HTTPTest.parseRequest(raw, limits: limits)) != nil)
        limits.maxHeaderBytes = raw.count - 1
        #expect(
            HTTPTest.parseRequest(raw, limits: limits) == .invalid(HTTPParseError(status: 431, reason: .headerTooLarge))
        )
        limits.maxHeaderBytes = raw.count
        limits.maxRequestLineBytes = line.utf8.count - 1
        #expect(
            HTTPTest.parseRequest(raw, limits: limits)
                == .invalid(HTTPParseError(status: 414, reason: .requestLineTooLong))
        )
    }

    /// Every prefix shorter than the head is incomplete, and the whole message parses to the same head.
    @Test(arguments: validRequests)
    func parsesWhenSplitAtEveryOffset(_ request: ValidRequest) throws {
        let headers = HTTPHeaderIndex()
        let whole = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(request.raw, headers: headers)))
        let wholeFields = HTTPTest.fields(request.raw, headers).map { "\($0.0): \($0.1)" }
        for cut in 0..<whole.headLength {
            let result = HTTPTest.parseRequest(Array(request.raw[..<cut]), headers: headers)
            #expect(result == .incomplete, "prefix of \(cut) bytes")
        }
        for cut in whole.headLength...request.raw.count {
            let result = HTTPTest.parseRequest(Array(request.raw[..<cut]), headers: headers)
            #expect(result == .complete(whole), "prefix of \(cut) bytes")
        }
        #expect(HTTPTest.fields(request.raw, headers).map { "\($0.0): \($0.1)" } == wholeFields)
    }
}
