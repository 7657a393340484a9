import Testing

@testable import Gateway

@Suite struct HTTPBodyFramerTests {
    private static let chunked = Array(
        "5;name=value;quoted=\"a b\"\r\nhello\r\n0B\r\n 0123456789\r\n1 ; ext\r\n!\r\n0\r\nX-Trailer: yes\r\nX-Two:\r\n\r\n"
            .utf8
    )
    private static let chunkedPayload = Array("hello 0123456789!".utf8)

    private func run(_ kind: HTTPBodyKind, _ raw: String, limits: HTTPLimits = HTTPLimits()) -> HTTPBodyFramer.Result {
        var framer = HTTPBodyFramer(kind, limits: limits)
        return Array(raw.utf8).withUnsafeBytes { framer.consume($0) }
    }

    @Test func contentLength() {
        #expect(run(.contentLength(5), "hel") == .needMore)
        #expect(run(.contentLength(5), "helloGET /") == .done(consumed: 5))
        #expect(run(.contentLength(0), "GET /") == .done(consumed: 0))
        #expect(run(.none, "GET /") == .done(consumed: 0))
        #expect(HTTPBodyFramer(.none, limits: HTTPLimits()).isComplete)
        #expect(HTTPBodyFramer(.contentLength(0), limits: HTTPLimits()).isComplete)
    }

    @Test func contentLengthAcrossReads() {
        var framer = HTTPBodyFramer(.contentLength(10), limits: HTTPLimits())
        let first = Array("12345".utf8).withUnsafeBytes { framer.consume($0) }
        #expect(first == .needMore)
        #expect(!framer.isComplete)
        let second = Array("67890NEXT".utf8).withUnsafeBytes { framer.consume($0) }
        #expect(second == .done(consumed: 5))
        #expect(framer.isComplete)
        let third = Array("more".utf8).withUnsafeBytes { framer.consume($0) }
        #expect(third == .done(consumed: 0))
    }

    @Test func closeDelimitedNeverEnds() {
        var framer = HTTPBodyFramer(.closeDelimited, limits: HTTPLimits())
        #expect(framer.isCloseDelimited)
        var payload: [UInt8] = []
        let result = Array("anything at all".utf8).withUnsafeBytes { bytes in
            framer.consumeDecoding(bytes) { payload.append(contentsOf: $0) }
        }
        #expect(result == .needMore)
        #expect(payload == Array("anything at all".utf8))
        #expect(!framer.isComplete)
    }

    @Test func chunkedWithExtensionsAndTrailers() {
        var raw = Self.chunked
        raw += Array("GET /next".utf8)
        var decoded: [UInt8] = []
        let result = HTTPTest.frame(.chunked, raw, cuts: [], decoded: &decoded)
        #expect(result == .success(Self.chunked.count))
        #expect(decoded == Self.chunkedPayload)
    }

    @Test func chunkedSplitAtEveryOffset() {
        var raw = Self.chunked
        raw += Array("NEXT".utf8)
        for cut in 0...raw.count {
            var decoded: [UInt8] = []
            let result = HTTPTest.frame(.chunked, raw, cuts: [cut], decoded: &decoded)
            #expect(result == .success(Self.chunked.count), "cut at \(cut)")
            #expect(decoded == Self.chunkedPayload, "cut at \(cut)")
        }
    }

    @Test func chunkedSplitAtEveryPairOfOffsets() {
        let raw = Array("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n".utf8)
        for first in 0...raw.count {
            for second in first...raw.count {
                var decoded: [UInt8] = []
                let result = HTTPTest.frame(.chunked, raw, cuts: [first, second], decoded: &decoded)
                #expect(result == .success(raw.count), "cuts at \(first), \(second)")
                #expect(decoded == Array("abcde".utf8))
            }
        }
    }

    @Test func byteByByte() {
        var framer = HTTPBodyFramer(.chunked, limits: HTTPLimits())
        for (index, byte) in Self.chunked.enumerated() {
            let result = [byte].withUnsafeBytes { framer.consume($0) }
            if index == Self.chunked.count - 1 {
                #expect(result == .done(consumed: 1))
            } else {
                #expect(result == .needMore, "byte \(index)")
            }
        }
        #expect(framer.isComplete)
    }

    @Test(arguments: [
        ("\r\n", HTTPParseError.Reason.invalidChunk),
        ("g\r\n", .invalidChunk),
        ("-1\r\n", .invalidChunk),
        ("+1\r\n", .invalidChunk),
        ("0x1\r\n", .invalidChunk),
        ("1 \r\na\r\n", .invalidChunk),
        (" 1\r\na\r\n", .invalidChunk),
        ("1\na\r\n", .invalidChunk),
        ("1\r\naX\r\n", .invalidChunk),
        ("1\r\na\n0\r\n\r\n", .invalidChunk),
        ("1\r\na\r\r", .invalidChunk),
        ("1;a\u{0}b\r\n", .invalidChunk),
        ("1 x\r\n", .invalidChunk),
        ("10000000000000000\r\n", .invalidChunk),
        ("0\r\nX: a\r\n b\r\n\r\n", .obsFold),
        ("0\r\nX : a\r\n\r\n", .whitespaceBeforeColon),
        ("0\r\nX: a\nb\r\n\r\n", .bareLF),
        ("0\r\nX: a\rb\r\n\r\n", .bareCR),
        ("0\r\nX: a\u{1}\r\n\r\n", .invalidHeaderValue),
        ("0\r\n@: a\r\n\r\n", .invalidChunk),
        ("0\r\n\rX", .bareCR),
    ])
    func invalidChunkedBodies(_ raw: String, _ reason: HTTPParseError.Reason) {
        #expect(run(.chunked, raw) == .invalid(HTTPParseError(status: 400, reason: reason)), "\(raw.debugDescription)")
    }

    @Test func largestChunkSizeIsAccepted() {
        #expect(run(.chunked, "7fffffffffffffff\r\nabc") == .needMore)
        #expect(run(.chunked, "0000000000000000000001\r\na\r\n0\r\n\r\n") == .done(consumed: 32))
    }

    @Test func chunkLineAndTrailerLimits() {
        var limits = HTTPLimits()
        limits.maxChunkLineBytes = 8
        limits.maxTrailerBytes = 16
        #expect(
            run(.chunked, "1;abcdef\r\na\r\n", limits: limits)
                == .invalid(HTTPParseError(status: 400, reason: .chunkLineTooLong))
        )
        #expect(run(.chunked, "1;abcde\r\na\r\n", limits: limits) == .needMore)
        #expect(
            run(.chunked, "0\r\nX-Long: 0123456789\r\n\r\n", limits: limits)
                == .invalid(HTTPParseError(status: 400, reason: .trailerTooLarge))
        )
    }

    @Test func errorsAreSticky() {
        var framer = HTTPBodyFramer(.chunked, limits: HTTPLimits())
        let first = Array("z".utf8).withUnsafeBytes { framer.consume($0) }
        let second = Array("0\r\n\r\n".utf8).withUnsafeBytes { framer.consume($0) }
        #expect(first == second)
        #expect(!framer.isComplete)
    }
}
