import Testing

@testable import Gateway

@Suite struct HTTPProxyHeadsTests {
    private func upstream(
        _ raw: String,
        hostOverride: String? = nil,
        client: String = "192.0.2.7",
        requestID: String = "req-1",
        capacity: Int = 4096
    ) throws -> String? {
        let bytes = HTTPTest.bytes(raw)
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.requestHead(HTTPTest.parseRequest(bytes, headers: headers)))
        var output = [UInt8](repeating: 0, count: capacity)
        let override = hostOverride.map { Array($0.utf8) }
        let clientBytes = Array(client.utf8)
        let idBytes = Array(requestID.utf8)
        return bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var writer = HTTPHeadWriter(out)
                let ok = clientBytes.withUnsafeBytes { clientAddress in
                    idBytes.withUnsafeBytes { id in
                        func write(_ hostOverride: UnsafeRawBufferPointer?) -> Bool {
                            HTTPProxyHeads.writeUpstreamRequest(
                                head: head,
                                source: source,
                                headers: headers,
                                hostOverride: hostOverride,
                                clientAddress: clientAddress,
                                proto: "http",
                                requestID: id,
                                into: &writer
                            )
                        }
                        if let override { return override.withUnsafeBytes { write($0) } }
                        return write(nil)
                    }
                }
                return ok ? String(decoding: writer.written, as: UTF8.self) : nil
            }
        }
    }

    private func downstream(
        _ raw: String,
        method: HTTPMethod = .get,
        clientVersionMinor: UInt8 = 1,
        closeAfter: Bool = false,
        requestID: String = "req-1"
    ) throws -> String? {
        let bytes = HTTPTest.bytes(raw)
        let headers = HTTPHeaderIndex()
        let head = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes, method: method, headers: headers)))
        var output = [UInt8](repeating: 0, count: 4096)
        let idBytes = Array(requestID.utf8)
        return bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var writer = HTTPHeadWriter(out)
                let ok = idBytes.withUnsafeBytes { id in
                    HTTPProxyHeads.writeDownstreamResponse(
                        head: head,
                        source: source,
                        headers: headers,
                        requestID: id,
                        clientVersionMinor: clientVersionMinor,
                        closeAfter: closeAfter,
                        into: &writer
                    )
                }
                return ok ? String(decoding: writer.written, as: UTF8.self) : nil
            }
        }
    }

    @Test func upstreamRemovesHopByHopAndSetsForwardingHeaders() throws {
        let raw =
            "POST /api/v1?x=1 HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "Connection: keep-alive, X-Secret\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "TE: trailers\r\n"
            + "Trailer: X-T\r\n"
            + "Upgrade: websocket\r\n"
            + "Proxy-Authorization: Basic abc\r\n"
            + "X-Secret: hidden\r\n"
            + "Accept: application/json\r\n"
            + "X-Forwarded-For: 203.0.113.1\r\n"
            + "X-Forwarded-Proto: https\r\n"
            + "X-Forwarded-Host: spoofed\r\n"
            + "X-Request-Id: client-chosen\r\n"
            + "X-Request-Id: second\r\n"
            + "Expect: 100-continue\r\n"
            + "Content-Length: 3\r\n"
            + "\r\n"
        let expected =
            "POST /api/v1?x=1 HTTP/1.1\r\n"
            + "Host: api.example.com\r\n"
            + "Accept: application/json\r\n"
            + "X-Forwarded-For: 203.0.113.1, 192.0.2.7\r\n"
            + "X-Forwarded-Proto: http\r\n"
            + "X-Forwarded-Host: api.example.com\r\n"
            + "X-Request-Id: req-1\r\n"
            + "Content-Length: 3\r\n"
            + "\r\n"
        #expect(try upstream(raw) == expected)
    }

    @Test func upstreamHostOverrideAndChunkedBody() throws {
        let raw = "PUT /f HTTP/1.1\r\nhost: public.example\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        let expected =
            "PUT /f HTTP/1.1\r\n"
            + "Host: 10.0.0.5:9001\r\n"
            + "X-A: 1\r\n"
            + "X-Forwarded-For: 192.0.2.7\r\n"
            + "X-Forwarded-Proto: http\r\n"
            + "X-Forwarded-Host: public.example\r\n"
            + "X-Request-Id: req-1\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "\r\n"
        #expect(try upstream(raw, hostOverride: "10.0.0.5:9001") == expected)
    }

    @Test func upstreamReducesAbsoluteFormAndJoinsForwardedFor() throws {
        let raw =
            "GET http://origin.example/p?q=1 HTTP/1.1\r\nHost: other\r\n"
            + "X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n\r\n"
        let expected =
            "GET /p?q=1 HTTP/1.1\r\n"
            + "Host: origin.example\r\n"
            + "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 192.0.2.7\r\n"
            + "X-Forwarded-Proto: http\r\n"
            + "X-Forwarded-Host: origin.example\r\n"
            + "X-Request-Id: req-1\r\n"
            + "\r\n"
        #expect(try upstream(raw) == expected)
        let bare = try upstream("GET http://origin.example HTTP/1.1\r\nHost: origin.example\r\n\r\n")
        #expect(bare?.hasPrefix("GET / HTTP/1.1\r\nHost: origin.example\r\n") == true)
    }

    @Test func upstreamFromHTTP10WithoutHost() throws {
        let expected =
            "GET / HTTP/1.1\r\nHost: \r\nX-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
            + "X-Request-Id: req-1\r\n\r\n"
        #expect(try upstream("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == expected)
    }

    @Test func upstreamConnectionCannotStripFraming() throws {
        // A client naming Content-Length in Connection must not make the proxy forward a body without framing.
        let raw = "POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, Host\r\nContent-Length: 2\r\n\r\n"
        let written = try #require(try upstream(raw))
        #expect(written.contains("\r\nContent-Length: 2\r\n"))
        #expect(written.hasPrefix("POST / HTTP/1.1\r\nHost: a\r\n"))
    }

    @Test func upstreamOverflowReportsFalse() throws {
        #expect(try upstream("GET / HTTP/1.1\r\nHost: a\r\n\r\n", capacity: 40) == nil)
        #expect(try upstream("GET / HTTP/1.1\r\nHost: a\r\n\r\n", capacity: 200) != nil)
    }

    @Test func downstreamRemovesHopByHopAndAddsRequestID() throws {
        let raw =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Internal\r\nKeep-Alive: timeout=5\r\n"
            + "X-Internal: 1\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\n"
        let expected =
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nX-Request-Id: req-1\r\n\r\n"
        #expect(try downstream(raw) == expected)
    }

    @Test func downstreamKeepsUpstreamRequestID() throws {
        let raw = "HTTP/1.1 404 Not Found\r\nx-request-id: upstream-id\r\nContent-Length: 0\r\n\r\n"
        #expect(
            try downstream(raw) == "HTTP/1.1 404 Not Found\r\nx-request-id: upstream-id\r\nContent-Length: 0\r\n\r\n"
        )
    }

    @Test func downstreamChunkedForHTTP11AndHTTP10Clients() throws {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        #expect(
            try downstream(raw)
                == "HTTP/1.1 200 OK\r\nX-A: 1\r\nX-Request-Id: req-1\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        #expect(
            try downstream(raw, clientVersionMinor: 0)
                == "HTTP/1.0 200 OK\r\nX-A: 1\r\nX-Request-Id: req-1\r\nConnection: close\r\n\r\n"
        )
    }

    @Test func downstreamConnectionHeaders() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        #expect(try downstream(raw, closeAfter: true)?.hasSuffix("Connection: close\r\n\r\n") == true)
        #expect(try downstream(raw, clientVersionMinor: 0)?.hasSuffix("Connection: keep-alive\r\n\r\n") == true)
        #expect(try downstream(raw)?.contains("Connection") == false)
        let delimited = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
        #expect(try downstream(delimited)?.hasSuffix("Connection: close\r\n\r\n") == true)
        let interim = try downstream("HTTP/1.1 100 Continue\r\n\r\n", closeAfter: true)
        #expect(interim == "HTTP/1.1 100 Continue\r\nX-Request-Id: req-1\r\n\r\n")
    }

    @Test func downstreamHeadResponseKeepsItsContentLength() throws {
        let raw = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"
        #expect(
            try downstream(raw, method: .head)
                == "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Request-Id: req-1\r\n\r\n"
        )
    }

    @Test func mustClose() throws {
        let bytes = HTTPTest.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        let head = try #require(HTTPTest.responseHead(HTTPTest.parseResponse(bytes)))
        #expect(HTTPProxyHeads.downstreamMustClose(head: head, clientVersionMinor: 0))
        #expect(!HTTPProxyHeads.downstreamMustClose(head: head, clientVersionMinor: 1))
    }
}

@Suite struct HTTPHeadWriterTests {
    private func write(capacity: Int = 64, _ body: (inout HTTPHeadWriter) -> Void) -> (String, Bool) {
        var storage = [UInt8](repeating: 0, count: capacity)
        return storage.withUnsafeMutableBytes { buffer in
            var writer = HTTPHeadWriter(buffer)
            body(&writer)
            return (String(decoding: writer.written, as: UTF8.self), writer.overflowed)
        }
    }

    @Test func decimal() {
        for value in [0, 7, 10, 1_234_567_890, -42, Int.max, Int.min] {
            #expect(write { $0.appendDecimal(value) } == (String(value), false))
        }
    }

    @Test func hex() {
        #expect(write { $0.appendHex(0) } == ("0", false))
        #expect(write { $0.appendHex(0xBEEF) } == ("beef", false))
        #expect(write { $0.appendHex(0x1F, width: 4) } == ("001f", false))
        #expect(write { $0.appendHex(UInt64.max) } == ("ffffffffffffffff", false))
        #expect(write { $0.appendHex(1, width: 40) } == ("0000000000000001", false))
    }

    @Test func overflowStopsWriting() {
        let (text, overflowed) = write(capacity: 8) { writer in
            writer.appendStatic("abcde")
            writer.appendStatic("fghij")
            writer.appendByte(0x21)
        }
        #expect(text == "abcde")
        #expect(overflowed)
        #expect(write(capacity: 5) { $0.appendStatic("abcde") } == ("abcde", false))
        #expect(write(capacity: 2) { $0.appendDecimal(123) } == ("", true))
    }

    @Test func resetClearsOverflow() {
        var storage = [UInt8](repeating: 0, count: 4)
        storage.withUnsafeMutableBytes { buffer in
            var writer = HTTPHeadWriter(buffer)
            writer.appendStatic("too long")
            #expect(writer.overflowed)
            writer.reset()
            writer.appendStatic("ok")
            #expect(!writer.overflowed)
            #expect(writer.count == 2)
            #expect(writer.remaining == 2)
        }
    }
}
