/// Turns records into text lines in the configured format. Thread-confined to the logging thread.
struct LineFormatter {
    /// Room to reserve before formatting one record: the text area escaped 6x, three symbols of at
    /// most ``AccessLogSymbolTable/maximumLength`` bytes escaped 6x, and the fixed parts.
    static let maximumLineLength = 432 * 6 + 3 * AccessLogSymbolTable.maximumLength * 6 + 1024

    let format: AccessLogFormat
    // Inline (no array) so walking the field list per record costs no reference counting.
    private var fieldList: InlineArray<32, AccessLogField> = InlineArray(repeating: .time)
    private let fieldCount: Int
    var timestamps = TimestampCache()

    init(format: AccessLogFormat, fields: [AccessLogField]) {
        self.format = format
        let limited = Array(fields.prefix(32))
        for (index, field) in limited.enumerated() {
            self.fieldList[index] = field
        }
        self.fieldCount = limited.count
    }

    @inline(__always)
    private func field(at index: Int) -> AccessLogField {
        self.fieldList[index]
    }

    /// Appends one line (ending in `\n`) for `record`; the buffer must have ``maximumLineLength`` free.
    mutating func append(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        switch self.format {
        case .json: self.appendJSON(record, symbols: symbols, to: &buffer)
        case .logfmt: self.appendLogfmt(record, symbols: symbols, to: &buffer)
        case .combined: self.appendCombined(record, to: &buffer)
        }
    }

    private mutating func appendJSON(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        buffer.append(UInt8(ascii: "{"))
        var first = true
        for index in 0..<self.fieldCount {
            let field = self.field(at: index)
            if !Self.isPresent(field, record) { continue }
            buffer.append(first ? "\"" : ",\"")
            first = false
            Self.appendKey(field, to: &buffer)
            buffer.append("\":")
            switch field {
            case .status, .bytesIn, .bytesOut, .upstreamStatus, .duration, .upstreamDuration, .attempts:
                self.appendValue(field, record, symbols: symbols, escaping: .json, to: &buffer)
            default:
                buffer.append(UInt8(ascii: "\""))
                self.appendValue(field, record, symbols: symbols, escaping: .json, to: &buffer)
                buffer.append(UInt8(ascii: "\""))
            }
        }
        buffer.append("}\n")
    }

    private mutating func appendLogfmt(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        var first = true
        for index in 0..<self.fieldCount {
            let field = self.field(at: index)
            if !Self.isPresent(field, record) { continue }
            if !first { buffer.append(UInt8(ascii: " ")) }
            first = false
            Self.appendKey(field, to: &buffer)
            buffer.append(UInt8(ascii: "="))
            let text: UnsafeRawBufferPointer?
            switch field {
            case .path: text = record.pathBytes
            case .userAgent: text = record.userAgentBytes
            case .requestID: text = record.requestIDBytes
            case .route: text = Self.symbolBytes(record.pointee.route, symbols)
            case .upstream: text = Self.symbolBytes(record.pointee.upstream, symbols)
            case .error: text = Self.symbolBytes(record.pointee.error, symbols)
            default: text = nil
            }
            if let text, logfmtNeedsQuoting(text) {
                buffer.append(UInt8(ascii: "\""))
                buffer.appendEscaped(text, .logfmtQuoted)
                buffer.append(UInt8(ascii: "\""))
            } else {
                self.appendValue(field, record, symbols: symbols, escaping: .logfmtQuoted, to: &buffer)
            }
        }
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func appendCombined(_ record: UnsafePointer<AccessRecord>, to buffer: inout LineBuffer) {
        let scratch = buffer.base + buffer.count
        let clientLength = record.pointee.client.format(into: UnsafeMutableRawPointer(scratch))
        if clientLength == 0 { buffer.append(UInt8(ascii: "-")) } else { buffer.count &+= clientLength }
        buffer.append(" - - [")
        self.timestamps.appendNginx(nanoseconds: record.pointee.time, to: &buffer)
        buffer.append("] \"")
        buffer.append(record.pointee.method.name)
        buffer.append(UInt8(ascii: " "))
        buffer.appendEscaped(record.pathBytes, .nginx)
        buffer.append(UInt8(ascii: " "))
        buffer.append(record.pointee.httpVersion.name)
        buffer.append("\" ")
        buffer.appendDecimal(UInt64(record.pointee.status))
        buffer.append(UInt8(ascii: " "))
        buffer.appendDecimal(record.pointee.bytesOut)
        buffer.append(" \"-\" \"")
        buffer.appendEscaped(record.userAgentBytes, .nginx)
        buffer.append("\"\n")
    }

    /// Whether an optional field has a value (absent ones are left out of JSON and logfmt lines).
    private static func isPresent(_ field: AccessLogField, _ record: UnsafePointer<AccessRecord>) -> Bool {
        switch field {
        case .upstream: return record.pointee.upstream != .none
        case .upstreamStatus: return record.pointee.upstreamStatus != 0
        case .attempts: return record.pointee.attempts > 1
        case .upstreamDuration: return record.pointee.upstreamDuration >= 0
        case .error: return record.pointee.error != .none
        default: return true
        }
    }

    private static func appendKey(_ field: AccessLogField, to buffer: inout LineBuffer) {
        switch field {
        case .time: buffer.append("time")
        case .requestID: buffer.append("request_id")
        case .client: buffer.append("client")
        case .method: buffer.append("method")
        case .path: buffer.append("path")
        case .protocol: buffer.append("protocol")
        case .status: buffer.append("status")
        case .bytesIn: buffer.append("bytes_in")
        case .bytesOut: buffer.append("bytes_out")
        case .duration: buffer.append("duration")
        case .upstream: buffer.append("upstream")
        case .upstreamStatus: buffer.append("upstream_status")
        case .attempts: buffer.append("attempts")
        case .upstreamDuration: buffer.append("upstream_duration")
        case .route: buffer.append("route")
        case .userAgent: buffer.append("user_agent")
        case .error: buffer.append("error")
        }
    }

    private static func symbolBytes(
        _ symbol: AccessLogSymbol,
        _ symbols: [UnsafeRawBufferPointer]
    ) -> UnsafeRawBufferPointer {
        let index = Int(symbol.rawValue)
        guard index > 0 && index < symbols.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return symbols[index]
    }

    private mutating func appendValue(
        _ field: AccessLogField,
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        escaping: TextEscaping,
        to buffer: inout LineBuffer
    ) {
        switch field {
        case .time: self.timestamps.appendRFC3339(nanoseconds: record.pointee.time, to: &buffer)
        case .requestID: buffer.appendEscaped(record.requestIDBytes, escaping)
        case .client:
            let length = record.pointee.client.format(into: UnsafeMutableRawPointer(buffer.base + buffer.count))
            if length == 0 { buffer.append(UInt8(ascii: "-")) } else { buffer.count &+= length }
        case .method: buffer.append(record.pointee.method.name)
        case .path: buffer.appendEscaped(record.pathBytes, escaping)
        case .protocol: buffer.append(record.pointee.httpVersion.name)
        case .status: buffer.appendDecimal(UInt64(record.pointee.status))
        case .bytesIn: buffer.appendDecimal(record.pointee.bytesIn)
        case .bytesOut: buffer.appendDecimal(record.pointee.bytesOut)
        case .duration: buffer.appendSeconds(nanoseconds: record.pointee.duration)
        case .upstream: buffer.appendEscaped(Self.symbolBytes(record.pointee.upstream, symbols), escaping)
        case .upstreamStatus: buffer.appendDecimal(UInt64(record.pointee.upstreamStatus))
        case .attempts: buffer.appendDecimal(UInt64(record.pointee.attempts))
        case .upstreamDuration: buffer.appendSeconds(nanoseconds: record.pointee.upstreamDuration)
        case .route: buffer.appendEscaped(Self.symbolBytes(record.pointee.route, symbols), escaping)
        case .userAgent: buffer.appendEscaped(record.userAgentBytes, escaping)
        case .error: buffer.appendEscaped(Self.symbolBytes(record.pointee.error, symbols), escaping)
        }
    }
}

extension UnsafePointer where Pointee == AccessRecord {
    /// The text area's offset inside a record, so text is read in place rather than copied out.
    private static var textOffset: Int { MemoryLayout<AccessRecord>.offset(of: \AccessRecord.text)! }

    private func text(at offset: Int, length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: UnsafeRawPointer(self) + Self.textOffset + offset, count: length)
    }

    var requestIDBytes: UnsafeRawBufferPointer {
        self.text(at: AccessRecord.requestIDOffset, length: Int(self.pointee.requestIDLength))
    }
    var pathBytes: UnsafeRawBufferPointer {
        self.text(at: AccessRecord.pathOffset, length: Int(self.pointee.pathLength))
    }
    var userAgentBytes: UnsafeRawBufferPointer {
        self.text(at: AccessRecord.userAgentOffset, length: Int(self.pointee.userAgentLength))
    }
}
