import AccessLog

/// A configured header value or URI with APISIX variables, compiled once and rendered on the worker into
/// a caller's buffer without allocating.
///
/// Variables are written `$name` or `${name}`; `\$` is a literal `$` (APISIX's `resolve_var`), and in
/// a `regex_uri` replacement `$$` is one too (`ngx.re.sub`). Supported names:
/// - `$1`…`$9` (`$0` the whole match): the groups of the `regex_uri` pattern that matched (empty when
///   none did);
/// - while the request is read (`proxy-rewrite`): `uri` (the path as the client sent it — not
///   percent-decoded, unlike nginx), `request_uri` (path and query), `args` / `query_string`,
///   `is_args` (`?` when there is a query), `host` (the Host header as sent), `request_method`,
///   `scheme`, `arg_<name>`, `http_<name>` (`_` standing for `-`), `cookie_<name>`;
/// - in any phase: `remote_addr` (the client address, after `real-ip`), `request_id`, `consumer_name`;
/// - in `header_filter` (`response-rewrite`): `status`, `upstream_status`.
///
/// An unknown name is a configuration error rather than an empty string, so a typo shows at load time.
package final class ValueTemplate: @unchecked Sendable {
    /// When the template is rendered: request phases can read the request, `header_filter` cannot.
    package enum Phase {
        case request
        case response
    }

    /// Which escape writes a literal `$`.
    package enum Syntax {
        /// `\$` (header values, `uri`).
        case variables
        /// `$$` or `\$` (a `regex_uri` replacement, after `ngx.re.sub`).
        case substitution
    }

    enum Kind: UInt8 {
        case literal, capture, uri, requestURI, args, isArgs, host, remoteAddress, requestMethod, scheme
        case requestID, consumerName, status, upstreamStatus, argument, header, cookie
    }

    struct Segment {
        var kind: Kind
        /// Literal bytes or the argument/header/cookie name, in ``text``.
        var offset: Int32
        var length: Int32
        /// The capture group.
        var group: Int32
    }

    /// Why a template does not compile.
    package struct CompileError: Error, CustomStringConvertible {
        package let description: String
    }

    private let text: PluginText
    private let segments: UnsafeMutablePointer<Segment>
    private let segmentCount: Int
    /// Whether the template has no variables (it renders as ``literalBytes``).
    package let isLiteral: Bool
    /// The highest capture group referenced (0 when none).
    package let highestGroup: Int

    /// Compiles `source`. `groups` is how many capture groups `$N` may refer to, nil when there is no
    /// pattern to capture from (then `$N` is an error).
    package init(_ source: String, phase: Phase, syntax: Syntax, groups: Int?) throws(CompileError) {
        var bytes: [UInt8] = []
        var segments: [Segment] = []
        let input = Array(source.utf8)
        var highest = 0

        func literal(_ byte: UInt8) {
            if let last = segments.last, last.kind == .literal, Int(last.offset + last.length) == bytes.count {
                segments[segments.count - 1].length += 1
            } else {
                segments.append(Segment(kind: .literal, offset: Int32(bytes.count), length: 1, group: 0))
            }
            bytes.append(byte)
        }

        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\\"), index + 1 < input.count, input[index + 1] == UInt8(ascii: "$") {
                literal(UInt8(ascii: "$"))
                index += 2
                continue
            }
            guard byte == UInt8(ascii: "$"), index + 1 < input.count else {
                literal(byte)
                index += 1
                continue
            }
            if syntax == .substitution && input[index + 1] == UInt8(ascii: "$") {
                literal(UInt8(ascii: "$"))
                index += 2
                continue
            }
            var cursor = index + 1
            let braced = input[cursor] == UInt8(ascii: "{")
            if braced { cursor += 1 }
            let nameStart = cursor
            while cursor < input.count, Self.isWordByte(input[cursor]) { cursor += 1 }
            let name = String(decoding: input[nameStart..<cursor], as: UTF8.self)
            if braced {
                guard cursor < input.count, input[cursor] == UInt8(ascii: "}"), !name.isEmpty else {
                    throw CompileError(description: "\"${\" at offset \(index) is not closed by \"}\" after a name")
                }
                cursor += 1
            }
            guard !name.isEmpty else {
                // A `$` not followed by a name stays as written.
                literal(byte)
                index += 1
                continue
            }
            var segment = Segment(kind: .literal, offset: 0, length: 0, group: 0)
            if name.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let groups else {
                    throw CompileError(description: "$\(name) refers to a regex_uri group, but there is no regex_uri")
                }
                guard let group = Int(name), group <= groups else {
                    throw CompileError(description: "$\(name) refers to a group the regex_uri pattern does not have")
                }
                segment.kind = .capture
                segment.group = Int32(group)
                highest = max(highest, group)
            } else {
                let (kind, argument) = try Self.variable(name, phase: phase)
                segment.kind = kind
                if let argument {
                    segment.offset = Int32(bytes.count)
                    segment.length = Int32(argument.utf8.count)
                    bytes.append(contentsOf: argument.utf8)
                }
            }
            segments.append(segment)
            index = cursor
        }
        text = PluginText(String(decoding: bytes, as: UTF8.self))
        segmentCount = segments.count
        self.segments = .allocate(capacity: max(1, segments.count))
        self.segments.initialize(from: segments, count: segments.count)
        isLiteral = segments.allSatisfy { $0.kind == .literal }
        highestGroup = highest
    }

    deinit {
        segments.deallocate()
    }

    /// The bytes of a template without variables.
    package var literalBytes: UnsafeRawBufferPointer {
        text.bytes
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
    }

    private static func variable(_ name: String, phase: Phase) throws(CompileError) -> (Kind, String?) {
        let requestOnly: [String: Kind] = [
            "uri": .uri, "request_uri": .requestURI, "args": .args, "query_string": .args, "is_args": .isArgs,
            "host": .host, "request_method": .requestMethod, "scheme": .scheme,
        ]
        let anyPhase: [String: Kind] = [
            "remote_addr": .remoteAddress, "request_id": .requestID, "consumer_name": .consumerName,
        ]
        let responseOnly: [String: Kind] = ["status": .status, "upstream_status": .upstreamStatus]
        if let kind = anyPhase[name] { return (kind, nil) }
        switch phase {
        case .request:
            if let kind = requestOnly[name] { return (kind, nil) }
            for (prefix, kind) in [("arg_", Kind.argument), ("http_", .header), ("cookie_", .cookie)]
            where name.hasPrefix(prefix) && name.count > prefix.count {
                let argument = String(name.dropFirst(prefix.count))
                return (kind, kind == .header ? String(argument.map { $0 == "_" ? "-" : $0 }) : argument)
            }
            if responseOnly[name] != nil {
                throw CompileError(description: "$\(name) is only known once the response arrives")
            }
        case .response:
            if let kind = responseOnly[name] { return (kind, nil) }
            if requestOnly[name] != nil || ["arg_", "http_", "cookie_"].contains(where: { name.hasPrefix($0) }) {
                throw CompileError(
                    description: "$\(name) is not available when the response arrives (the request head is gone); "
                        + "use remote_addr, request_id, consumer_name, status or upstream_status"
                )
            }
        }
        throw CompileError(
            description: "unknown or unsupported variable $\(name); supported: uri, request_uri, args, "
                + "query_string, is_args, host, request_method, scheme, remote_addr, request_id, consumer_name, "
                + "status, upstream_status, arg_<name>, http_<name>, cookie_<name> and $1…$9"
        )
    }

    /// Appends the rendered template to `writer`. `captures` are the groups of the `regex_uri` match, if
    /// any; with `escapingQuestionMarks` a variable's `?` is written `%3F` (inside a URI's path).
    package func render(
        _ request: PluginRequest,
        captures: RegexCaptures?,
        escapingQuestionMarks: Bool = false,
        into writer: inout ByteWriter
    ) {
        var index = 0
        while index < segmentCount {
            let segment = segments[index]
            index &+= 1
            let argument = UnsafeRawBufferPointer(
                rebasing: text.bytes[Int(segment.offset)..<Int(segment.offset + segment.length)]
            )
            var value: UnsafeRawBufferPointer?
            switch segment.kind {
            case .literal:
                writer.append(argument)
                continue
            case .capture:
                if let captures, let group = captures.group(Int(segment.group)) { writer.append(group) }
                continue
            case .uri:
                value = request.path
            case .requestURI:
                if let head = request.head {
                    value = UnsafeRawBufferPointer(rebasing: request.source[head.targetRange])
                }
            case .args:
                value = request.query
            case .isArgs:
                if request.query != nil { writer.append(UInt8(ascii: "?")) }
                continue
            case .host:
                value = request.host
            case .requestMethod:
                if let head = request.head {
                    value = UnsafeRawBufferPointer(rebasing: request.source[head.methodRange])
                }
            case .scheme:
                value = request.isTLS ? UnsafeRawBufferPointer("https") : UnsafeRawBufferPointer("http")
            case .remoteAddress:
                var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
                withUnsafeMutableBytes(of: &buffer) { raw in
                    let length = request.clientAddress.write(into: raw.baseAddress!)
                    writer.append(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
                }
                continue
            case .requestID:
                value = request.requestID
            case .consumerName:
                value = request.consumerName
            case .status:
                writer.append(decimal: request.status)
                continue
            case .upstreamStatus:
                if request.upstreamStatus > 0 { writer.append(decimal: request.upstreamStatus) }
                continue
            case .argument:
                value = request.queryArgument(named: argument)
            case .header:
                value = request.header(named: argument)
            case .cookie:
                value = request.cookie(named: argument)
            }
            guard let value else { continue }
            if escapingQuestionMarks {
                writer.appendEscapingQuestionMarks(value)
            } else {
                writer.append(value)
            }
        }
    }
}
