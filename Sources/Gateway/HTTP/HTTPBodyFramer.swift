/// Finds where a message body ends in a byte stream, validating chunked framing while the proxy
/// forwards the raw bytes unchanged (chunk sizes, extensions and trailers pass through).
///
/// Feed every received body byte in order; the framer keeps only a few integers of state, so a body
/// split across reads at any byte is handled the same as a whole one.
package struct HTTPBodyFramer: Sendable {
    /// The outcome of consuming one slice of bytes.
    package enum Result: Equatable, Sendable {
        /// Every byte was body; the message continues.
        case needMore
        /// The message ends after `consumed` bytes; the rest belongs to the next message.
        case done(consumed: Int)
        /// The body framing is broken; the connection cannot be reused.
        case invalid(HTTPParseError)
    }

    private enum State: Sendable {
        case fixed(remaining: Int64)
        case closeDelimited
        /// Reading the hex size; `digits` counts significant-or-not digits seen.
        case chunkSize(value: Int64, digits: Int)
        /// After the size, inside `BWS ; ext...` up to the CR.
        case chunkExtension(value: Int64, sawSemicolon: Bool)
        case chunkSizeLF(value: Int64)
        case chunkData(remaining: Int64)
        case chunkDataCR
        case chunkDataLF
        /// At the start of a trailer line (or the final empty line).
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLineLF
        case finalLF
        case complete
        case failed(HTTPParseError)
    }

    private var state: State
    private var lineBytes = 0
    private var trailerBytes = 0
    private let maxChunkLineBytes: Int
    private let maxTrailerBytes: Int

    package init(_ kind: HTTPBodyKind, limits: HTTPLimits) {
        maxChunkLineBytes = limits.maxChunkLineBytes
        maxTrailerBytes = limits.maxTrailerBytes
        switch kind {
        case .none: state = .complete
        case .contentLength(let length): state = length > 0 ? .fixed(remaining: length) : .complete
        case .chunked: state = .chunkSize(value: 0, digits: 0)
        case .closeDelimited: state = .closeDelimited
        }
    }

    /// Whether the whole body has been seen.
    package var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    /// Whether the body ends when the peer closes; then end-of-stream completes it rather than truncating it.
    package var isCloseDelimited: Bool {
        if case .closeDelimited = state { return true }
        return false
    }

    /// Advances over `bytes`, which the caller forwards unchanged up to the reported end.
    package mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Result {
        run(bytes, decoding: false) { _ in }
    }

    /// For HTTP/1.0 clients receiving a chunked response: same as `consume`, but reports only
    /// payload bytes (no sizes, extensions, CRLFs or trailers) through `payload`.
    package mutating func consumeDecoding(
        _ bytes: UnsafeRawBufferPointer,
        payload: (UnsafeRawBufferPointer) -> Void
    ) -> Result {
        run(bytes, decoding: true, payload)
    }

    /// For HTTP/2 responses: payload bytes through `payload`, and the raw trailer section's field lines
    /// (each `name: value` with its CRLF, without the final empty line) through `trailer`, a byte at a time.
    package mutating func consumeDecoding(
        _ bytes: UnsafeRawBufferPointer,
        payload: (UnsafeRawBufferPointer) -> Void,
        trailer: (UInt8) -> Void
    ) -> Result {
        run(bytes, decoding: true, payload, capturingTrailers: true, trailer)
    }

    @inline(__always)
    private mutating func fail(_ reason: HTTPParseError.Reason) -> Result {
        let error = HTTPParseError.body(reason)
        state = .failed(error)
        return .invalid(error)
    }

    @inline(__always)
    private mutating func run(
        _ bytes: UnsafeRawBufferPointer,
        decoding: Bool,
        _ payload: (UnsafeRawBufferPointer) -> Void,
        capturingTrailers: Bool = false,
        _ trailer: (UInt8) -> Void = { _ in }
    ) -> Result {
        let n = bytes.count
        var p = 0
        while p < n {
            switch state {
            case .complete:
                return .done(consumed: p)
            case .failed(let error):
                return .invalid(error)
            case .closeDelimited:
                if decoding { payload(UnsafeRawBufferPointer(rebasing: bytes[p..<n])) }
                return .needMore
            case .fixed(let remaining):
                let take = Int(min(remaining, Int64(n &- p)))
                if decoding { payload(UnsafeRawBufferPointer(rebasing: bytes[p..<p &+ take])) }
                p &+= take
                state = remaining == Int64(take) ? .complete : .fixed(remaining: remaining &- Int64(take))
            case .chunkData(let remaining):
                let take = Int(min(remaining, Int64(n &- p)))
                if decoding { payload(UnsafeRawBufferPointer(rebasing: bytes[p..<p &+ take])) }
                p &+= take
                state = remaining == Int64(take) ? .chunkDataCR : .chunkData(remaining: remaining &- Int64(take))
            default:
                if capturingTrailers && isInTrailerLine(bytes[p]) { trailer(bytes[p]) }
                if let error = step(bytes[p]) { return fail(error) }
                p &+= 1
            }
        }
        switch state {
        case .complete: return .done(consumed: n)
        case .failed(let error): return .invalid(error)
        default: return .needMore
        }
    }

    /// Advances the line-oriented chunked states by one byte.
    @inline(__always)
    private mutating func step(_ byte: UInt8) -> HTTPParseError.Reason? {
        switch state {
        case .chunkSize(let value, let digits):
            lineBytes &+= 1
            if lineBytes > maxChunkLineBytes { return .chunkLineTooLong }
            if let digit = HTTPBytes.hexValue(byte) {
                // Refuse sizes that do not fit in Int64 rather than wrapping.
                guard value <= (Int64.max >> 4) else { return .invalidChunk }
                state = .chunkSize(value: value << 4 | Int64(digit), digits: digits &+ 1)
                return nil
            }
            guard digits > 0 else { return .invalidChunk }
            if byte == HTTPBytes.cr {
                state = .chunkSizeLF(value: value)
            } else if byte == 0x3B {
                state = .chunkExtension(value: value, sawSemicolon: true)
            } else if HTTPBytes.isWhitespace(byte) {
                state = .chunkExtension(value: value, sawSemicolon: false)
            } else {
                return .invalidChunk
            }
        case .chunkExtension(let value, let sawSemicolon):
            lineBytes &+= 1
            if lineBytes > maxChunkLineBytes { return .chunkLineTooLong }
            if byte == HTTPBytes.cr {
                // Whitespace after the size is only allowed before a `;` (BWS in RFC 9112 §7.1.1).
                guard sawSemicolon else { return .invalidChunk }
                state = .chunkSizeLF(value: value)
            } else if byte == 0x3B {
                state = .chunkExtension(value: value, sawSemicolon: true)
            } else if !sawSemicolon {
                guard HTTPBytes.isWhitespace(byte) else { return .invalidChunk }
            } else {
                guard byte >= 0x20 && byte != 0x7F || byte == HTTPBytes.htab else { return .invalidChunk }
            }
        case .chunkSizeLF(let value):
            guard byte == HTTPBytes.lf else { return .invalidChunk }
            lineBytes = 0
            state = value == 0 ? .trailerLineStart : .chunkData(remaining: value)
        case .chunkDataCR:
            guard byte == HTTPBytes.cr else { return .invalidChunk }
            state = .chunkDataLF
        case .chunkDataLF:
            guard byte == HTTPBytes.lf else { return .invalidChunk }
            state = .chunkSize(value: 0, digits: 0)
        case .trailerLineStart:
            if let reason = countTrailerByte() { return reason }
            if byte == HTTPBytes.cr {
                state = .finalLF
            } else if HTTPBytes.isTokenByte(byte) {
                state = .trailerName
            } else {
                return HTTPBytes.isWhitespace(byte) ? .obsFold : .invalidChunk
            }
        case .trailerName:
            if let reason = countTrailerByte() { return reason }
            if byte == HTTPBytes.colon {
                state = .trailerValue
            } else if !HTTPBytes.isTokenByte(byte) {
                return HTTPBytes.isWhitespace(byte) ? .whitespaceBeforeColon : .invalidHeaderName
            }
        case .trailerValue:
            if let reason = countTrailerByte() { return reason }
            if byte == HTTPBytes.cr {
                state = .trailerLineLF
            } else if byte == HTTPBytes.lf {
                return .bareLF
            } else if !(byte >= 0x20 && byte != 0x7F || byte == HTTPBytes.htab) {
                return .invalidHeaderValue
            }
        case .trailerLineLF:
            if let reason = countTrailerByte() { return reason }
            guard byte == HTTPBytes.lf else { return .bareCR }
            state = .trailerLineStart
        case .finalLF:
            guard byte == HTTPBytes.lf else { return .bareCR }
            state = .complete
        case .fixed, .closeDelimited, .chunkData, .complete, .failed:
            break
        }
        return nil
    }

    /// Whether `byte`, about to be stepped over, belongs to a trailer field line.
    @inline(__always)
    private func isInTrailerLine(_ byte: UInt8) -> Bool {
        switch state {
        case .trailerLineStart: return byte != HTTPBytes.cr
        case .trailerName, .trailerValue, .trailerLineLF: return true
        default: return false
        }
    }

    @inline(__always)
    private mutating func countTrailerByte() -> HTTPParseError.Reason? {
        trailerBytes &+= 1
        return trailerBytes > maxTrailerBytes ? .trailerTooLarge : nil
    }
}
