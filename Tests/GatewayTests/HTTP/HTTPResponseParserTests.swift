import Testing

@testable import Gateway

@Suite struct HTTPResponseParserTests {
    private func head(_ raw: String, method: HTTPMethod = .get) -> HTTPResponseHead? {
        HTTPTest.responseHead(HTTPTest.parseResponse(HTTPTest.bytes(raw), method: method))
    }

    private func error(_ raw: String) -> HTTPParseError? {
        if case .invalid(let error) = HTTPTest.parseResponse(HTTPTest.bytes(raw)) { return error }
        return nil
    }

    @Test func okWithContentLength() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Request-Id: r1\r\n\r\nhello"
        let bytes = HTTPTest.bytes(raw)
        let parsed = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes)))
        #expect(parsed.status == 200)
        #expect(parsed.versionMinor == 1)
        #expect(HTTPTest.string(bytes, parsed.reasonRange) == "OK")
        #expect(parsed.body == .contentLength(5))
        #expect(parsed.headLength == bytes.count - 5)
        #expect(parsed.keepAlive)
        #expect(parsed.hasRequestID)
        #expect(!parsed.isInformational)
    }

    @Test func bodilessResponses() throws {
        #expect(try #require(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method: .head)).body == .none)
        #expect(
            try #require(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", method: .head)).body == .none
        )
        #expect(try #require(head("HTTP/1.1 204 No Content\r\n\r\n")).body == .none)
        #expect(try #require(head("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")).body == .none)
        let continueHead = try #require(head("HTTP/1.1 100 Continue\r\n\r\n"))
        #expect(continueHead.body == .none)
        #expect(continueHead.isInformational)
        let early = try #require(head("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"))
        #expect(early.isInformational)
        #expect(!(try #require(head("HTTP/1.1 101 Switching Protocols\r\n\r\n")).isInformational))
    }

    @Test func closeDelimitedAndKeepAlive() throws {
        let delimited = try #require(head("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"))
        #expect(delimited.body == .closeDelimited)
        #expect(!delimited.keepAlive)
        #expect(try #require(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")).body == .chunked)
        #expect(!(try #require(head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")).keepAlive))
        #expect(!(try #require(head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")).keepAlive))
        #expect(try #require(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n")).keepAlive)
    }

    @Test func statusLineVariants() throws {
        let bytes = HTTPTest.bytes("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n")
        let noReason = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes)))
        #expect(noReason.status == 404)
        #expect(noReason.reasonRange.isEmpty)
        #expect(try #require(head("HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n")).status == 500)
        #expect(try #require(head("HTTP/1.1 599 Odd\tReason caf\u{E9}\r\nContent-Length: 0\r\n\r\n")).status == 599)
    }

    @Test func malformedResponsesAre502() {
        let cases: [(String, HTTPParseError.Reason)] = [
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .clAndTE),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", .duplicateContentLength),
            ("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", .invalidContentLength),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", .unsupportedTransferEncoding),
            ("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding),
            ("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", .obsFold),
            ("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", .bareCR),
            ("HTTP/1.1 200 OK\nX: a\r\n\r\n", .bareLF),
            ("HTTP/1.1 200 OK\r\nX: a\n\r\n", .bareLF),
            ("HTTP/1.1 200 OK\r\nX: a\u{0}\r\n\r\n", .invalidHeaderValue),
            ("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", .whitespaceBeforeColon),
            ("HTTP/1.1 2000 OK\r\n\r\n", .badStatusLine),
            ("HTTP/1.1 20 OK\r\n\r\n", .badStatusLine),
            ("HTTP/1.1 099 OK\r\n\r\n", .badStatusLine),
            ("HTTP/1.1 600 OK\r\n\r\n", .badStatusLine),
            ("HTTP/1.1  200 OK\r\n\r\n", .badStatusLine),
            ("HTTP/1.1 200 O\u{1}K\r\n\r\n", .badStatusLine),
            ("HTTP/1.1\r\n\r\n", .badStatusLine),
            ("http/1.1 200 OK\r\n\r\n", .badStatusLine),
            ("ICY 200 OK\r\n\r\n", .badStatusLine),
            ("HTTP/2.0 200 OK\r\n\r\n", .badVersion),
            ("\r\nHTTP/1.1 200 OK\r\n\r\n", .badStatusLine),
        ]
        for (raw, reason) in cases {
            #expect(error(raw) == HTTPParseError(status: 502, reason: reason), "\(raw.debugDescription)")
        }
    }

    @Test func headerTooLarge() {
        var limits = HTTPLimits()
        limits.maxHeaderBytes = 64
        let raw = HTTPTest.bytes("HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "x", count: 100))
        #expect(
            HTTPTest.parseResponse(raw, limits: limits)
                == .invalid(HTTPParseError(status: 502, reason: .headerTooLarge))
        )
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        "HTTP/1.1 204 No Content\r\nDate: today\r\n\r\n",
        "HTTP/1.0 200\r\n\r\n",
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n0\r\n\r\n",
    ])
    func parsesWhenSplitAtEveryOffset(_ raw: String) throws {
        let bytes = HTTPTest.bytes(raw)
        let whole = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes)))
        for cut in 0..<whole.headLength {
            #expect(HTTPTest.parseResponse(Array(bytes[..<cut])) == .incomplete, "prefix of \(cut) bytes")
        }
        for cut in whole.headLength...bytes.count {
            #expect(HTTPTest.parseResponse(Array(bytes[..<cut])) == .complete(whole), "prefix of \(cut) bytes")
        }
    }
}
