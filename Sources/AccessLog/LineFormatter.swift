/// Turns records into text lines in the configured format. Thread-confined to the logging thread.
///
/// The constant text between values (`,"status":` in JSON, ` status=` in logfmt) is rendered once per
/// field when the formatter is made and written with one 32-byte store per field, so a line costs
/// little more than its values.
struct LineFormatter {
    /// Room to reserve before formatting one record: the text area escaped 6x, the ten symbols a
    /// record refers to (route, upstream, error, consumer, rejected_by, the three TLS ones, the plugin
    /// field's name and value) of at most ``AccessLogSymbolTable/maximumLength`` bytes escaped 6x, the
    /// fixed parts and the slack chunked stores may overwrite.
    static let maximumLineLength =
        432 * 6 + 10 * AccessLogSymbolTable.maximumLength * 6 + 1024 + LineBuffer.overwriteSlack

    /// The text written before a field's value, as one 32-byte chunk.
    private struct Fragment {
        var chunk = SIMD32<UInt8>(repeating: 0)
        var length = 0

        init() {}

        init(_ text: String) {
            let bytes = Array(text.utf8)
            precondition(bytes.count <= 32, "field key too long for a fragment")
            for (index, byte) in bytes.enumerated() {
                self.chunk[index] = byte
            }
            self.length = bytes.count
        }
    }

    let format: AccessLogFormat
    // Inline (no array) so walking the field list per record costs no reference counting.
    private var fieldList: InlineArray<32, AccessLogField> = InlineArray(repeating: .time)
    // For the first field written on a line, and for every later one.
    private var leadingFragments: InlineArray<32, Fragment> = InlineArray(repeating: Fragment())
    private var fragments: InlineArray<32, Fragment> = InlineArray(repeating: Fragment())
    private let fieldCount: Int
    // Method and protocol names as chunks, indexed by raw value.
    private var methodNames: InlineArray<16, Fragment> = InlineArray(repeating: Fragment())
    private var versionNames: InlineArray<4, Fragment> = InlineArray(repeating: Fragment())
    var timestamps = TimestampCache()

    init(format: AccessLogFormat, fields: [AccessLogField]) {
        self.format = format
        let limited = Array(fields.prefix(32))
        for (index, field) in limited.enumerated() {
            self.fieldList[index] = field
            let key = field.rawValue
            switch format {
            case .json where field == .plugin:
                // The key is the plugin's name, written per record after the opening quote.
                self.leadingFragments[index] = Fragment("{\"")
                self.fragments[index] = Fragment(",\"")
            case .logfmt where field == .plugin:
                self.leadingFragments[index] = Fragment()
                self.fragments[index] = Fragment(" ")
            case .json:
                let quote = Self.isQuotedInJSON(field) ? "\"" : ""
                self.leadingFragments[index] = Fragment("{\"\(key)\":" + quote)
                self.fragments[index] = Fragment(",\"\(key)\":" + quote)
            case .logfmt:
                self.leadingFragments[index] = Fragment("\(key)=")
                self.fragments[index] = Fragment(" \(key)=")
            case .combined:
                break
            }
        }
        self.fieldCount = limited.count
        for method in AccessRecord.Method.allCases {
            self.methodNames[Int(method.rawValue)] = Fragment(method.name.description)
        }
        for version in AccessRecord.HTTPVersion.allCases {
            self.versionNames[Int(version.rawValue)] = Fragment(version.name.description)
        }
    }

    /// Appends one line (ending in `\n`) for `record`; the buffer must have ``maximumLineLength`` free.
    @inline(__always)
    mutating func append(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        switch self.format {
        case .json: self.appendJSON(record, symbols: symbols, to: &buffer)
        case .logfmt: self.appendLogfmt(record, symbols: symbols, to: &buffer)
        case .combined: self.appendCombined(record, symbols: symbols, to: &buffer)
        }
    }

    private static func isQuotedInJSON(_ field: AccessLogField) -> Bool {
        switch field {
        case .status, .bytesIn, .bytesOut, .upstreamStatus, .grpcStatus, .duration, .upstreamDuration, .attempts:
            return false
        default: return true
        }
    }

    private mutating func appendJSON(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        // The first field's fragment opens the object; a record with no field present still needs it.
        if !self.appendFields(record, symbols: symbols, to: &buffer) { buffer.append(UInt8(ascii: "{")) }
        buffer.append(UInt8(ascii: "}"))
        buffer.append(UInt8(ascii: "\n"))
    }

    private mutating func appendLogfmt(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        _ = self.appendFields(record, symbols: symbols, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Writes every present field as its fragment and value (JSON or logfmt); returns whether any was.
    private mutating func appendFields(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) -> Bool {
        var first = true
        for index in 0..<self.fieldCount {
            let field = self.fieldList[index]
            if !Self.isPresent(field, record) { continue }
            if field == .plugin {
                // Both symbols set, but a name registered as "" would make an unreadable key.
                let name = Self.symbolBytes(record.pointee.pluginFieldName, symbols)
                if name.isEmpty { continue }
                let fragment = first ? self.leadingFragments[index] : self.fragments[index]
                buffer.append(fragment.chunk, length: fragment.length)
                first = false
                self.appendPluginField(name: name, record, symbols: symbols, to: &buffer)
                continue
            }
            let fragment = first ? self.leadingFragments[index] : self.fragments[index]
            buffer.append(fragment.chunk, length: fragment.length)
            first = false
            if self.format == .json {
                if self.appendValue(field, record, symbols: symbols, escaping: .json, to: &buffer) {
                    buffer.append(UInt8(ascii: "\""))
                }
            } else {
                self.appendLogfmtValue(field, record, symbols: symbols, to: &buffer)
            }
        }
        return !first
    }

    /// The plugin-supplied pair after its fragment: `name":"value"` in JSON, `name=value` in logfmt.
    private mutating func appendPluginField(
        name: UnsafeRawBufferPointer,
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        let value = Self.symbolBytes(record.pointee.pluginFieldValue, symbols)
        if self.format == .json {
            buffer.appendEscaped(name, .json)
            buffer.append("\":\"")
            buffer.appendEscaped(value, .json)
            buffer.append(UInt8(ascii: "\""))
            return
        }
        // A logfmt key ends at a space or `=`: such bytes (and quotes, control bytes) become `_`.
        for byte in name {
            let breaksKey = byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"")
            buffer.append(breaksKey ? UInt8(ascii: "_") : byte)
        }
        buffer.append(UInt8(ascii: "="))
        if logfmtNeedsQuoting(value) {
            buffer.append(UInt8(ascii: "\""))
            buffer.appendEscaped(value, .logfmtQuoted)
            buffer.append(UInt8(ascii: "\""))
        } else {
            buffer.appendEscaped(value, .logfmtQuoted)
        }
    }

    /// A logfmt value: text fields are quoted (and escaped) only when they need it.
    private mutating func appendLogfmtValue(
        _ field: AccessLogField,
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        let text: UnsafeRawBufferPointer?
        switch field {
        case .path: text = record.pathBytes
        case .userAgent: text = record.userAgentBytes
        case .requestID: text = record.requestIDBytes
        case .route: text = Self.symbolBytes(record.pointee.route, symbols)
        case .upstream: text = Self.symbolBytes(record.pointee.upstream, symbols)
        case .error: text = Self.symbolBytes(record.pointee.error, symbols)
        case .consumer: text = Self.symbolBytes(record.pointee.consumer, symbols)
        case .rejectedBy: text = Self.symbolBytes(record.pointee.rejectedBy, symbols)
        case .tlsProtocol: text = Self.symbolBytes(record.pointee.tlsProtocol, symbols)
        case .tlsCipher: text = Self.symbolBytes(record.pointee.tlsCipher, symbols)
        case .tlsClientSubject: text = Self.symbolBytes(record.pointee.tlsClientSubject, symbols)
        default: text = nil
        }
        if let text, logfmtNeedsQuoting(text) {
            buffer.append(UInt8(ascii: "\""))
            buffer.appendEscaped(text, .logfmtQuoted)
            buffer.append(UInt8(ascii: "\""))
        } else {
            _ = self.appendValue(field, record, symbols: symbols, escaping: .logfmtQuoted, to: &buffer)
        }
    }

    /// nginx's `combined`, with the consumer as `$remote_user` and, after the standard fields, up to three
    /// appended pairs: `rejected_by=<plugin>` only on requests a plugin ended, `tls=<protocol>/<cipher>`
    /// only on requests over TLS (`-` for a missing half) and `trace_id=<32 hex digits>` only on requests
    /// with a trace id, so plain requests keep strictly combined lines.
    private mutating func appendCombined(
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        to buffer: inout LineBuffer
    ) {
        Self.appendClient(record, to: &buffer)
        buffer.append(" - ")
        let consumer = Self.symbolBytes(record.pointee.consumer, symbols)
        if record.pointee.consumer == .none || consumer.isEmpty {
            buffer.append(UInt8(ascii: "-"))
        } else {
            buffer.appendEscaped(consumer, .nginx)
        }
        buffer.append(" [")
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
        buffer.append(UInt8(ascii: "\""))
        if record.pointee.rejectedBy != .none {
            buffer.append(" rejected_by=")
            buffer.appendEscaped(Self.symbolBytes(record.pointee.rejectedBy, symbols), .nginx)
        }
        // Empty names count as missing, as `gateway logs` reads them back.
        let tlsProtocol = Self.symbolBytes(record.pointee.tlsProtocol, symbols)
        let tlsCipher = Self.symbolBytes(record.pointee.tlsCipher, symbols)
        if !tlsProtocol.isEmpty || !tlsCipher.isEmpty {
            buffer.append(" tls=")
            Self.appendNginxOrDash(tlsProtocol, to: &buffer)
            buffer.append(UInt8(ascii: "/"))
            Self.appendNginxOrDash(tlsCipher, to: &buffer)
        }
        if record.pointee.traceIDHigh != 0 || record.pointee.traceIDLow != 0 {
            buffer.append(" trace_id=")
            buffer.appendTraceID(high: record.pointee.traceIDHigh, low: record.pointee.traceIDLow)
        }
        buffer.append(UInt8(ascii: "\n"))
    }

    /// `text` escaped for nginx, or `-` when empty.
    @inline(__always)
    private static func appendNginxOrDash(_ text: UnsafeRawBufferPointer, to buffer: inout LineBuffer) {
        if text.isEmpty { buffer.append(UInt8(ascii: "-")) } else { buffer.appendEscaped(text, .nginx) }
    }

    /// Whether an optional field has a value (absent ones are left out of JSON and logfmt lines).
    private static func isPresent(_ field: AccessLogField, _ record: UnsafePointer<AccessRecord>) -> Bool {
        switch field {
        case .upstream: return record.pointee.upstream != .none
        case .upstreamStatus: return record.pointee.upstreamStatus != 0
        case .grpcStatus: return record.pointee.grpcStatus != AccessRecord.noGRPCStatus
        case .attempts: return record.pointee.attempts > 1
        case .upstreamDuration: return record.pointee.upstreamDuration >= 0
        case .error: return record.pointee.error != .none
        case .consumer: return record.pointee.consumer != .none
        case .rejectedBy: return record.pointee.rejectedBy != .none
        case .tlsClientSubject: return record.pointee.tlsClientSubject != .none
        case .traceID: return record.pointee.traceIDHigh != 0 || record.pointee.traceIDLow != 0
        case .plugin: return record.pointee.pluginFieldName != .none && record.pointee.pluginFieldValue != .none
        default: return true
        }
    }

    /// The client address, or `-` when unknown.
    @inline(__always)
    private static func appendClient(_ record: UnsafePointer<AccessRecord>, to buffer: inout LineBuffer) {
        let length = record.pointee.client.format(into: buffer.end)
        if length == 0 { buffer.append(UInt8(ascii: "-")) } else { buffer.count &+= length }
    }

    private static func symbolBytes(
        _ symbol: AccessLogSymbol,
        _ symbols: [UnsafeRawBufferPointer]
    ) -> UnsafeRawBufferPointer {
        let index = Int(symbol.rawValue)
        guard index > 0 && index < symbols.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return symbols[index]
    }

    /// Appends `field`'s value; returns whether it is a string (which JSON closes with a quote).
    @inline(__always)
    private mutating func appendValue(
        _ field: AccessLogField,
        _ record: UnsafePointer<AccessRecord>,
        symbols: [UnsafeRawBufferPointer],
        escaping: TextEscaping,
        to buffer: inout LineBuffer
    ) -> Bool {
        switch field {
        case .time: self.timestamps.appendRFC3339(nanoseconds: record.pointee.time, to: &buffer)
        case .requestID: buffer.appendEscaped(record.requestIDBytes, escaping)
        // Hex digits never need escaping or quoting.
        case .traceID: buffer.appendTraceID(high: record.pointee.traceIDHigh, low: record.pointee.traceIDLow)
        case .client: Self.appendClient(record, to: &buffer)
        case .method:
            let name = self.methodNames[Int(record.pointee.method.rawValue)]
            buffer.append(name.chunk, length: name.length)
        case .path: buffer.appendEscaped(record.pathBytes, escaping)
        case .protocol:
            let name = self.versionNames[Int(record.pointee.httpVersion.rawValue)]
            buffer.append(name.chunk, length: name.length)
        case .status:
            buffer.appendDecimal(UInt64(record.pointee.status))
            return false
        case .bytesIn:
            buffer.appendDecimal(record.pointee.bytesIn)
            return false
        case .bytesOut:
            buffer.appendDecimal(record.pointee.bytesOut)
            return false
        case .duration:
            buffer.appendSeconds(nanoseconds: record.pointee.duration)
            return false
        case .upstream: buffer.appendEscaped(Self.symbolBytes(record.pointee.upstream, symbols), escaping)
        case .upstreamStatus:
            buffer.appendDecimal(UInt64(record.pointee.upstreamStatus))
            return false
        case .grpcStatus:
            buffer.appendDecimal(UInt64(record.pointee.grpcStatus))
            return false
        case .attempts:
            buffer.appendDecimal(UInt64(record.pointee.attempts))
            return false
        case .upstreamDuration:
            buffer.appendSeconds(nanoseconds: record.pointee.upstreamDuration)
            return false
        case .route: buffer.appendEscaped(Self.symbolBytes(record.pointee.route, symbols), escaping)
        case .userAgent: buffer.appendEscaped(record.userAgentBytes, escaping)
        case .error: buffer.appendEscaped(Self.symbolBytes(record.pointee.error, symbols), escaping)
        case .consumer: buffer.appendEscaped(Self.symbolBytes(record.pointee.consumer, symbols), escaping)
        case .rejectedBy: buffer.appendEscaped(Self.symbolBytes(record.pointee.rejectedBy, symbols), escaping)
        // Written even when empty (plain HTTP): `"tls_protocol":""`.
        case .tlsProtocol: buffer.appendEscaped(Self.symbolBytes(record.pointee.tlsProtocol, symbols), escaping)
        case .tlsCipher: buffer.appendEscaped(Self.symbolBytes(record.pointee.tlsCipher, symbols), escaping)
        case .tlsClientSubject:
            buffer.appendEscaped(Self.symbolBytes(record.pointee.tlsClientSubject, symbols), escaping)
        case .plugin:
            // Written by appendPluginField (its key is the plugin's name); never reaches here.
            return false
        }
        return true
    }
}

extension AccessRecord {
    /// The highest symbol-table index the record refers to (0 when it refers to none).
    @inline(__always)
    var highestSymbolIndex: Int {
        let builtIn = max(self.route.rawValue, self.upstream.rawValue, self.error.rawValue)
        let plugins = max(
            self.consumer.rawValue,
            self.rejectedBy.rawValue,
            self.pluginFieldName.rawValue,
            self.pluginFieldValue.rawValue
        )
        let tls = max(self.tlsProtocol.rawValue, self.tlsCipher.rawValue, self.tlsClientSubject.rawValue)
        return Int(max(builtIn, plugins, tls))
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
