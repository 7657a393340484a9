import CNghttp2
import Testing

@testable import Gateway

/// Reading a stream slot's HTTP/1.1 response back into HTTP/2 fields, and the pieces the HTTP/2 layer
/// shares with HTTP/1.1 (the body framer's trailer capture), without sockets.
@Suite struct HTTP2ResponseReaderTests {
    /// The fields written for `response`, as (name, value) strings.
    static func fields(of response: String, method: HTTPMethod = .get) -> [(String, String)]? {
        let bytes = Array(response.utf8)
        let headers = HTTPHeaderIndex(capacity: 64)
        let fields = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: 64)
        defer { fields.deallocate() }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { scratch.deallocate() }
        return bytes.withUnsafeBytes { source -> [(String, String)]? in
            guard
                case .complete(let head) = HTTPParser.parseResponseHead(
                    source,
                    headers: headers,
                    requestMethod: method,
                    limits: HTTPLimits()
                ),
                let count = HTTP2ResponseReader.writeFields(
                    head: head,
                    source: source,
                    headers: headers,
                    fields: fields,
                    capacity: 64,
                    scratch: scratch
                )
            else { return nil }
            return (0..<count).map { Self.pair(fields[$0]) }
        }
    }

    static func pair(_ field: nghttp2_nv) -> (String, String) {
        (
            String(decoding: UnsafeBufferPointer(start: field.name, count: field.namelen), as: UTF8.self),
            String(decoding: UnsafeBufferPointer(start: field.value, count: field.valuelen), as: UTF8.self)
        )
    }

    @Test func statusComesFirstAndNamesAreLowercased() throws {
        let fields = try #require(
            Self.fields(
                of:
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Request-Id: abc\r\nContent-Length: 3\r\n\r\n"
            )
        )
        #expect(fields.map(\.0) == [":status", "content-type", "x-request-id", "content-length"])
        #expect(fields.map(\.1) == ["404", "text/plain", "abc", "3"])
    }

    @Test func connectionSpecificHeadersAreDropped() throws {
        let fields = try #require(
            Self.fields(
                of:
                    "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nX-Hop: 1\r\nTrailer: grpc-status\r\nServer: up\r\n\r\n"
            )
        )
        #expect(fields.map(\.0) == [":status", "server"])
    }

    @Test func trailerLinesBecomeFields() {
        var text = Array("Grpc-Status: 0\r\nGrpc-Message:  all good \r\nbroken line\r\n".utf8)
        let fields = UnsafeMutablePointer<nghttp2_nv>.allocate(capacity: 8)
        defer { fields.deallocate() }
        let pairs = text.withUnsafeMutableBytes { lines -> [(String, String)] in
            let count = HTTP2ResponseReader.writeTrailerFields(lines: lines, fields: fields, capacity: 8)
            return (0..<count).map { Self.pair(fields[$0]) }
        }
        #expect(pairs.map(\.0) == ["grpc-status", "grpc-message"])
        #expect(pairs.map(\.1) == ["0", "all good"])
    }

    @Test func framerReportsPayloadAndTrailerLinesSeparately() {
        let body = Array("5\r\nhello\r\n3;ext=1\r\n, w\r\n0\r\nGrpc-Status: 0\r\nX-A: b\r\n\r\n".utf8)
        // Split at every position: the same payload and trailers however the body arrives.
        for split in 0...body.count {
            var framer = HTTPBodyFramer(.chunked, limits: HTTPLimits())
            var payload: [UInt8] = []
            var trailer: [UInt8] = []
            var result = HTTPBodyFramer.Result.needMore
            body.withUnsafeBytes { bytes in
                for part in [bytes[0..<split], bytes[split...]] where !part.isEmpty {
                    result = framer.consumeDecoding(
                        UnsafeRawBufferPointer(rebasing: part),
                        payload: { payload += $0 },
                        trailer: { trailer.append($0) }
                    )
                }
            }
            #expect(result == .done(consumed: body.count - split == 0 ? body.count : body.count - split))
            #expect(String(decoding: payload, as: UTF8.self) == "hello, w")
            #expect(String(decoding: trailer, as: UTF8.self) == "Grpc-Status: 0\r\nX-A: b\r\n")
        }
    }

    @Test func chunkSizeLineIsTenBytesOfLowercaseHex() {
        var bytes = [UInt8](repeating: 0, count: 10)
        bytes.withUnsafeMutableBytes { HTTP2StreamState.writeChunkSize(0xBEEF, to: $0.baseAddress!) }
        #expect(String(decoding: bytes, as: UTF8.self) == "0000beef\r\n")
        // The gateway's own chunked parser takes the leading zeros.
        var framer = HTTPBodyFramer(.chunked, limits: HTTPLimits())
        let chunk = Array("00000002\r\nok\r\n0\r\n\r\n".utf8)
        let result = chunk.withUnsafeBytes { framer.consume($0) }
        #expect(result == .done(consumed: chunk.count))
    }
}

/// The token bucket behind the rapid-reset and control-frame flood limits.
@Suite struct HTTP2RateBucketTests {
    @Test func burstThenRate() {
        var bucket = HTTP2RateBucket()
        let second: UInt64 = 1_000_000_000
        var now: UInt64 = 5 * second
        var taken = 0
        while bucket.take(now: now, rate: 100, burst: 1000) { taken += 1 }
        #expect(taken == 1000)
        let overLimit = bucket.take(now: now, rate: 100, burst: 1000)
        #expect(!overLimit)
        // A tenth of a second earns ten more, and no more than that.
        now += second / 10
        taken = 0
        while bucket.take(now: now, rate: 100, burst: 1000) { taken += 1 }
        #expect(taken == 10)
        // A long pause refills only up to the burst.
        now += 3600 * second
        taken = 0
        while bucket.take(now: now, rate: 100, burst: 1000) { taken += 1 }
        #expect(taken == 1000)
    }
}
