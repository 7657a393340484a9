/// `request-id`: names the request's id header, with APISIX's keys.
///
/// The gateway already gives every request an id (``PluginRequest/requestID``: the client's sane
/// `X-Request-Id`, or one it generates) and sends it upstream and back as `X-Request-Id`. This plugin:
/// - `header_name` (default `X-Request-Id`): another header to carry the id in. The client's value of
///   that header is kept when it is sane (1–64 visible ASCII characters), else the gateway's id is used;
///   the value is sent upstream under `header_name` and, with `include_in_response`, back to the client.
/// - `include_in_response` (default true): false keeps the header out of the response (the gateway's
///   own `X-Request-Id` too when `header_name` is that).
/// - `algorithm`: only `uuid` (the default) is accepted; `nanoid` and `range_id` are reported as not
///   supported. `range_id` settings (`char_set`, `length`) are accepted and, as in APISIX with another
///   algorithm, unused.
///
/// Unlike APISIX, which adds the response header in `header_filter` only when the upstream did not send
/// one, everything is recorded in `rewrite` (the request's header is only readable there) and the value
/// replaces an upstream's.
package final class RequestIDPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "request-id",
        priority: 12015,
        phases: [.rewrite],
        keys: ["header_name", "include_in_response", "algorithm", "range_id"],
        compile: { settings in RequestIDPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let name: PluginText
    /// Whether `name` is `X-Request-Id`, which the gateway already handles.
    private let isDefaultName: Bool
    private let includeInResponse: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        let header = settings.nonEmptyString("header_name") ?? "X-Request-Id"
        if !HeaderEditList.isValidName(header) {
            settings.report("header_name", "\"\(header)\" is not a valid header name")
        }
        name = PluginText(header)
        isDefaultName = header.lowercased() == "x-request-id"
        includeInResponse = settings.bool("include_in_response") ?? true
        if let algorithm = settings.choice("algorithm", in: ["uuid", "nanoid", "range_id"]), algorithm != "uuid" {
            settings.report("algorithm", "\"\(algorithm)\" is not supported; the gateway's ids are used (\"uuid\")")
        }
        if var range = settings.object("range_id", allowed: ["char_set", "length"]) {
            if let charSet = range.string("char_set"), charSet.count < 6 {
                range.report("char_set", "must be at least 6 characters long")
            }
            _ = range.int("length", in: 6...Int.max)
            settings.merge(range)
        }
        if settings.issueCount > start { return nil }
    }

    package func rewrite(_ request: PluginRequest) -> PluginVerdict {
        if isDefaultName {
            if !includeInResponse {
                request.record(.responseRemove, name: name.bytes, value: UnsafeRawBufferPointer(""))
            }
            return .proceed
        }
        var value = request.requestID
        if let sent = request.header(named: name.bytes), Self.isSane(sent) { value = sent }
        request.record(.requestSet, name: name.bytes, value: value)
        if includeInResponse {
            request.record(.responseSet, name: name.bytes, value: value)
        } else {
            request.record(.responseRemove, name: name.bytes, value: UnsafeRawBufferPointer(""))
        }
        return .proceed
    }

    /// 1–64 visible ASCII characters: the same rule as the gateway's own `X-Request-Id`.
    @inline(__always)
    static func isSane(_ value: UnsafeRawBufferPointer) -> Bool {
        guard value.count >= 1, value.count <= 64 else { return false }
        for byte in value where byte < 0x21 || byte > 0x7E { return false }
        return true
    }
}
