/// `request-id`: names the request's id header, with APISIX's keys.
///
/// The gateway gives every request an id (``PluginRequest/requestID``): the client's sane value of the id
/// header (1–64 visible ASCII characters, no `"` or `\`), else one it generates. Without this plugin the
/// header is `X-Request-Id`, sent upstream and back. This plugin:
/// - `header_name` (default `X-Request-Id`): the header that carries the id instead. The worker reads the
///   client's value from it (``RequestIDHeaderTable``), so the id in logs, traces and rejection bodies is
///   that value; it is sent upstream under `header_name` (and no `X-Request-Id` is), and back with
///   `include_in_response`.
/// - `include_in_response` (default true): false keeps the gateway from adding the header to the response
///   (a header the upstream itself sends still passes).
/// - `algorithm`: only `uuid` (the default) is accepted; `nanoid` and `range_id` are reported as not
///   supported. `range_id` settings (`char_set`, `length`) are accepted and, as in APISIX with another
///   algorithm, unused.
///
/// Unlike APISIX, which adds the response header in `header_filter` only when the upstream did not send
/// one, a `header_name` other than `X-Request-Id` is recorded in `rewrite` and replaces an upstream's.
/// The id is taken before authentication, so the plugin is read from the route (or, without one there,
/// from a global rule); a consumer's `request-id` with another `header_name` is refused.
package final class RequestIDPlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "request-id",
        priority: 12015,
        phases: [.rewrite],
        keys: ["header_name", "include_in_response", "algorithm", "range_id"],
        compile: { settings in RequestIDPlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    /// The header carrying the id.
    package let headerName: PluginText
    /// Whether ``headerName`` is `X-Request-Id`, which the gateway already handles.
    package let isDefaultName: Bool
    private let includeInResponse: Bool

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        let header = settings.nonEmptyString("header_name") ?? "X-Request-Id"
        if !HeaderEditList.isValidName(header) {
            settings.report("header_name", "\"\(header)\" is not a valid header name")
        }
        headerName = PluginText(header)
        isDefaultName = header.lowercased() == "x-request-id"
        if case .consumer = settings.scope, !isDefaultName {
            // The id is taken when the request arrives, before authentication names the consumer.
            settings.report(
                "header_name",
                "cannot be set on a consumer: the request id is taken before authentication; set it on the "
                    + "route, its service or a global rule"
            )
        }
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
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        if isDefaultName {
            if !includeInResponse { request.record(.omitRequestID, name: none, value: none) }
            return .proceed
        }
        // The worker already took the id from this header (or made one): send it under this name only.
        request.record(.requestRemove, name: UnsafeRawBufferPointer("X-Request-Id"), value: none)
        request.record(.requestSet, name: headerName.bytes, value: request.requestID)
        request.record(.omitRequestID, name: none, value: none)
        if includeInResponse {
            request.record(.responseSet, name: headerName.bytes, value: request.requestID)
        }
        return .proceed
    }
}
