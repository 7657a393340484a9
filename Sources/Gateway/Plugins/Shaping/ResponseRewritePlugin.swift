/// `response-rewrite`: changes the status and headers of the response sent to the client (the upstream's
/// or one the gateway wrote), in `header_filter`.
///
/// Supported APISIX keys: `status_code` (200–598) and `headers` — `{add: {…}, set: {…}, remove: […]}` or
/// the older flat `{name: value}` (set) — whose values may use `$remote_addr`, `$request_id`,
/// `$consumer_name`, `$status` and `$upstream_status` (the request head is gone by then). Rewriting the
/// body (`body`, `body_base64: true`, `filters`) and conditions (`vars`) are not supported yet and are
/// reported as configuration errors rather than ignored.
package final class ResponseRewritePlugin: GatewayPlugin {
    package static let descriptor = PluginDescriptor(
        name: "response-rewrite",
        priority: 899,
        phases: [.headerFilter],
        keys: ["status_code", "headers", "body", "body_base64", "filters", "vars"],
        compile: { settings in ResponseRewritePlugin(&settings) }
    )

    package var descriptor: PluginDescriptor { Self.descriptor }

    private let status: Int
    private let headers: HeaderEditList?

    init?(_ settings: inout PluginSettings) {
        let start = settings.issueCount
        for key in ["body", "filters"] where settings.has(key) {
            settings.report(key, "rewriting the response body is not supported yet")
        }
        if settings.bool("body_base64") == true {
            settings.report("body_base64", "rewriting the response body is not supported yet")
        }
        if settings.has("vars") {
            settings.report(
                "vars",
                "conditions (vars) are not supported yet; the rewrite would apply to every response"
            )
        }
        status = settings.int("status_code", in: 200...598) ?? 0
        headers = HeaderEditList.read(&settings, "headers", response: true, phase: .response, groups: nil)
        if settings.issueCount > start { return nil }
    }

    package func headerFilter(_ request: PluginRequest) {
        if status > 0 { request.setResponseStatus(status) }
        if let headers { _ = headers.apply(request, captures: nil) }
    }
}
