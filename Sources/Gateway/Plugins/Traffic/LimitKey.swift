/// What a `limit-*` plugin counts a request against (`key_type` and `key`), compiled into parts that a
/// worker hashes straight from the request's bytes, without building the key.
///
/// As in APISIX: `var` names one variable (`remote_addr`, `consumer_name`, `host`, `http_<header>`,
/// `arg_<name>`, `cookie_<name>`); `var_combination` is text with variables in it (`$remote_addr
/// $http_x_user`, or `${http_x_user}`), a variable that is absent reading as nothing; `constant` is one
/// key for every request. When no variable has a value (a `var` header that is absent, a combination
/// none of whose variables is present), the key is the client address, as APISIX does. The hash is
/// FNV-1a of the key's text, so keys equal as text (an address in a header and the same client's
/// address) are the same key, as they are in APISIX.
package final class LimitKey: @unchecked Sendable {
    /// Where a part of the key comes from.
    enum Source: UInt8 {
        case literal, remoteAddress, consumerName, host, header, argument, cookie
    }

    /// One part: fixed text, or a variable with its name bytes (header name with `-` for `_`).
    struct Part {
        let source: Source
        let bytes: UnsafeRawBufferPointer
    }

    /// The variables `var` and `var_combination` keys may use, for error messages.
    static let variables = "remote_addr, consumer_name, host, http_<header>, arg_<name>, cookie_<name>"

    private let parts: UnsafeMutablePointer<Part>
    private let partCount: Int
    /// Owns the bytes ``parts`` point to.
    private let texts: [PluginText]
    /// The hash of a `constant` key, which is the same for every request.
    private let constant: UInt64?
    /// The key as configured ("var:remote_addr"), for comparing group settings.
    package let configured: String

    /// Whether every request has the same key (a table of one slot does).
    package var isConstant: Bool { constant != nil }

    private init(parts: [(Source, String)], constant: String?, configured: String) {
        let texts = parts.map { PluginText($0.1) }
        self.parts = .allocate(capacity: max(1, parts.count))
        for (index, part) in parts.enumerated() {
            (self.parts + index).initialize(to: Part(source: part.0, bytes: texts[index].bytes))
        }
        partCount = parts.count
        self.texts = texts
        self.constant = constant.map { FNV1a.hash($0.utf8) }
        self.configured = configured
    }

    deinit {
        parts.deinitialize(count: partCount)
        parts.deallocate()
    }

    /// Reads `key_type` (one of `types`) and `key` (`defaultKey` when absent; required when nil),
    /// reporting problems with their key paths.
    static func read(_ settings: inout PluginSettings, types: [String], defaultKey: String?) -> LimitKey? {
        let type = settings.has("key_type") ? settings.choice("key_type", in: types) : "var"
        let key: String?
        if settings.has("key") {
            key = settings.string("key")
        } else if let defaultKey {
            key = defaultKey
        } else {
            settings.missing("key")
            key = nil
        }
        guard let type, let key else { return nil }
        let configured = "\(type):\(key)"
        switch type {
        case "constant":
            return LimitKey(parts: [(.literal, key)], constant: key, configured: configured)
        case "var_combination":
            guard let parts = combination(key, &settings) else { return nil }
            return LimitKey(parts: parts, constant: nil, configured: configured)
        default:
            // APISIX looks the name up as is: an empty name finds nothing, so the client address counts.
            if key.isEmpty { return LimitKey(parts: [], constant: nil, configured: configured) }
            guard let part = variable(key) else {
                let hint = key.hasPrefix("$") ? " (a var key is named without \"$\")" : ""
                settings.report("key", "unsupported variable \"\(key)\"\(hint); supported: \(variables)")
                return nil
            }
            return LimitKey(parts: [part], constant: nil, configured: configured)
        }
    }

    /// The parts of a `var_combination` key: `$name` (letters, digits, `_`, `.`) and `${ name }`
    /// variables in literal text, as APISIX's `resolve_var` reads them (a `$` after `\` is text).
    private static func combination(_ key: String, _ settings: inout PluginSettings) -> [(Source, String)]? {
        let bytes = Array(key.utf8)
        var parts: [(Source, String)] = []
        var literal: [UInt8] = []
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
        while index < bytes.count {
            let byte = bytes[index]
            let escaped = index > 0 && bytes[index - 1] == UInt8(ascii: "\\")
            guard byte == UInt8(ascii: "$"), !escaped, index + 1 < bytes.count else {
                literal.append(byte)
                index += 1
                continue
            }
            var name: [UInt8] = []
            var end = index + 1
            if bytes[end] == UInt8(ascii: "{") {
                guard let close = bytes[(end + 1)...].firstIndex(of: UInt8(ascii: "}")), close > end + 1 else {
                    literal.append(byte)
                    index += 1
                    continue
                }
                name = Array(bytes[(end + 1)..<close])
                while name.first == 0x20 { name.removeFirst() }
                while name.last == 0x20 { name.removeLast() }
                end = close + 1
            } else {
                while end < bytes.count && isNameByte(bytes[end]) {
                    name.append(bytes[end])
                    end += 1
                }
                if name.isEmpty {
                    literal.append(byte)
                    index += 1
                    continue
                }
            }
            let text = String(decoding: name, as: UTF8.self)
            guard let part = variable(text) else {
                settings.report("key", "unsupported variable \"$\(text)\"; supported: \(variables)")
                return nil
            }
            if !literal.isEmpty {
                parts.append((.literal, String(decoding: literal, as: UTF8.self)))
                literal = []
            }
            parts.append(part)
            index = end
        }
        if !literal.isEmpty { parts.append((.literal, String(decoding: literal, as: UTF8.self))) }
        return parts
    }

    /// The part a variable name reads, or nil for a variable the gateway does not have.
    private static func variable(_ name: String) -> (Source, String)? {
        switch name {
        case "remote_addr": return (.remoteAddress, "")
        case "consumer_name": return (.consumerName, "")
        case "host": return (.host, "")
        default: break
        }
        for (prefix, source) in [("http_", Source.header), ("arg_", .argument), ("cookie_", .cookie)]
        where name.hasPrefix(prefix) && name.count > prefix.count {
            let rest = String(name.dropFirst(prefix.count))
            // nginx's $http_x_user is the X-User header.
            return (source, source == .header ? String(rest.map { $0 == "_" ? "-" : $0 }) : rest)
        }
        return nil
    }

    /// The hash of `request`'s key (FNV-1a of its text). Allocates nothing.
    @inline(__always)
    package func hash(_ request: PluginRequest) -> UInt64 {
        if let constant { return constant }
        var hash = FNV1a.offsetBasis
        var resolved = 0
        var index = 0
        while index < partCount {
            let part = parts[index]
            index &+= 1
            if part.source == .literal {
                hash = Self.fold(hash, part.bytes)
                continue
            }
            guard let folded = Self.fold(hash, part, request) else { continue }
            hash = folded
            resolved &+= 1
        }
        if resolved > 0 { return hash }
        return Self.foldAddress(FNV1a.offsetBasis, request)
    }

    /// `hash` with variable `part`'s value folded in, or nil when the request has no such value.
    @inline(__always)
    private static func fold(_ hash: UInt64, _ part: Part, _ request: PluginRequest) -> UInt64? {
        switch part.source {
        case .literal:
            return fold(hash, part.bytes)
        case .remoteAddress:
            return foldAddress(hash, request)
        case .consumerName:
            return request.consumerName.map { fold(hash, $0) }
        case .host:
            return request.host.map { foldHost(hash, $0) }
        case .header:
            return request.header(named: part.bytes).map { fold(hash, $0) }
        case .argument:
            return request.queryArgument(named: part.bytes).map { fold(hash, $0) }
        case .cookie:
            return request.cookie(named: part.bytes).map { fold(hash, $0) }
        }
    }

    @inline(__always)
    private static func fold(_ hash: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash = hash
        for byte in bytes { hash = FNV1a.mix(hash, byte) }
        return hash
    }

    /// Folds the client address as text (nginx's `$remote_addr`), written on the stack.
    @inline(__always)
    private static func foldAddress(_ hash: UInt64, _ request: PluginRequest) -> UInt64 {
        let address = request.clientAddress
        return withUnsafeTemporaryAllocation(byteCount: 64, alignment: 8) { buffer in
            let length = address.write(into: buffer.baseAddress!)
            return fold(hash, UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
        }
    }

    /// Folds the host as nginx's `$host` has it: lower case, without the port.
    @inline(__always)
    private static func foldHost(_ hash: UInt64, _ host: UnsafeRawBufferPointer) -> UInt64 {
        var end = host.count
        // A port follows the last ':' unless that ':' is inside an IPv6 literal's brackets.
        var index = host.count
        while index > 0 {
            index &-= 1
            if host[index] == UInt8(ascii: "]") { break }
            if host[index] == UInt8(ascii: ":") {
                end = index
                break
            }
        }
        var hash = hash
        var position = 0
        while position < end {
            let byte = host[position]
            hash = FNV1a.mix(hash, byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            position &+= 1
        }
        return hash
    }
}
